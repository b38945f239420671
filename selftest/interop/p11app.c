// SPDX-License-Identifier: MIT
/*
 * p11app.c - a PKCS#11 application that holds a key in an open session
 * through a master key change, run in the trixie root by test-interop.
 *
 *   p11app MODULE SLOT PIN KEY_ID_HEX
 *
 * It loads MODULE, logs in to SLOT, finds the secret key with CKA_ID
 * KEY_ID_HEX and prints "ready". Then, one command a line on stdin:
 * "use" encrypts and decrypts a block with AES-CBC and prints "ok" or
 * "fail RV"; "refuse-old" sets CSULCCA_REFUSE_OLD for the simulated
 * adapter; end of input logs out and exits.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR p11;
static CK_SESSION_HANDLE session;
static CK_OBJECT_HANDLE key;

static CK_RV use(void)
{
	static const CK_BYTE plain[32] = "thirty-two bytes of clear text!!";
	CK_BYTE iv[16] = { 0 }, ct[48], back[48];
	CK_MECHANISM mech = { CKM_AES_CBC, iv, sizeof(iv) };
	CK_ULONG ct_len = sizeof(ct), back_len = sizeof(back);
	CK_RV rv;

	rv = p11->C_EncryptInit(session, &mech, key);
	if (rv == CKR_OK)
		rv = p11->C_Encrypt(session, (CK_BYTE_PTR)plain, sizeof(plain), ct, &ct_len);
	if (rv == CKR_OK)
		rv = p11->C_DecryptInit(session, &mech, key);
	if (rv == CKR_OK)
		rv = p11->C_Decrypt(session, ct, ct_len, back, &back_len);
	if (rv == CKR_OK && (back_len != sizeof(plain) || memcmp(back, plain, sizeof(plain)) != 0 ||
			     memcmp(ct, plain, sizeof(plain)) == 0))
		rv = CKR_GENERAL_ERROR;
	return rv;
}

static int fail(const char *what, CK_RV rv)
{
	printf("fail %s 0x%lx\n", what, (unsigned long)rv);
	return 1;
}

int main(int argc, char **argv)
{
	CK_RV (*get_list)(CK_FUNCTION_LIST_PTR_PTR);
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BYTE id[64];
	CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, 0 } };
	CK_ULONG found = 0;
	char line[64];
	void *lib;
	CK_RV rv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5 || strlen(argv[4]) / 2 > sizeof(id)) {
		fprintf(stderr, "usage: p11app MODULE SLOT PIN KEY_ID_HEX\n");
		return 2;
	}
	for (size_t i = 0; i < strlen(argv[4]) / 2; i++)
		sscanf(argv[4] + 2 * i, "%2hhx", &id[i]);
	tmpl[1].ulValueLen = strlen(argv[4]) / 2;
	lib = dlopen(argv[1], RTLD_NOW);
	if (!lib || !(get_list = (CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(lib, "C_GetFunctionList")))
		return fail("dlopen", 0);
	if ((rv = get_list(&p11)) != CKR_OK || (rv = p11->C_Initialize(NULL)) != CKR_OK)
		return fail("C_Initialize", rv);
	rv = p11->C_OpenSession(strtoul(argv[2], NULL, 10), CKF_SERIAL_SESSION | CKF_RW_SESSION,
				NULL, NULL, &session);
	if (rv != CKR_OK)
		return fail("C_OpenSession", rv);
	rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)argv[3], strlen(argv[3]));
	if (rv != CKR_OK)
		return fail("C_Login", rv);
	rv = p11->C_FindObjectsInit(session, tmpl, 2);
	if (rv == CKR_OK)
		rv = p11->C_FindObjects(session, &key, 1, &found);
	p11->C_FindObjectsFinal(session);
	if (rv != CKR_OK || found != 1)
		return fail("C_FindObjects", rv);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "use", 3) == 0) {
			rv = use();
			if (rv == CKR_OK)
				printf("ok\n");
			else
				printf("fail use 0x%lx\n", (unsigned long)rv);
		} else if (strncmp(line, "refuse-old", 10) == 0) {
			setenv("CSULCCA_REFUSE_OLD", "1", 1);
			printf("ok\n");
		}
	}
	p11->C_Logout(session);
	p11->C_CloseSession(session);
	p11->C_Finalize(NULL);
	return 0;
}
