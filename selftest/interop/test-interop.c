// SPDX-License-Identifier: MIT
/*
 * test-interop.c - the real openCryptoki 3.23 on apsim's HSM.
 *
 * In the Debian trixie root that mkroot.sh built ($MKAGENT_INTEROP_ROOT),
 * seen through an overlay so the cached root stays clean, in a private
 * mount namespace: the real pkcsslotd, pkcsconf, p11sak, CCA token and
 * pkcshsm_mk_change, with libcsulcca.so (csulcca.c) as the CCA adapter and
 * apsim's testbed as the root's /sys. A TKE action done here through apsim
 * is what both the token and mkagent see.
 *
 * This first scenario proves the stage: the token loads, is initialized,
 * makes an AES key, and `pkcshsm_mk_change` re-enciphers it to a new AES
 * master key and finalizes after activation, the key working throughout.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../apsim.h"
#include "../fixture.h"
#include "../tap.h"

#define SO_PIN "63518207"
#define USER_PIN "40724915"
#define KEY_LABEL "interop aes key"
#define EC_LABEL "interop ec key"
#define PLAIN "thirty-two bytes of clear text!!"

/* Two CCA tokens: a label with blanks, and one of the full 32 characters. */
static const struct token {
	int slot;
	const char *label, *pin;
} TOKENS[] = {
	{ 0, "interop token", USER_PIN },
	{ 1, "a label of exactly 32 characters", "51806293" },
};
#define NTOKENS (sizeof(TOKENS) / sizeof(TOKENS[0]))

static const struct apqn Q = { .card = 0x01, .domain = 0x06 };
static char *work, *mnt;
static pid_t slotd;

struct result {
	int status;
	char *out;
};

/*
 * Run @cmd with /bin/sh in the root, @input on its stdin, stdout and
 * stderr together in the result. The test itself runs under umockdev's
 * preload; the root's programs must not.
 */
static struct result in_root(const char *input, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct result in_root(const char *input, const char *fmt, ...)
{
	struct result r = { .status = -1 };
	char cmd[4096], outpath[4200];
	int in[2], out, st;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(outpath, sizeof(outpath), "%s/out", work);
	out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0 || pipe(in) < 0)
		bail_out("in_root: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out, 1);
		dup2(out, 2);
		close(in[1]);
		if (chroot(mnt) < 0 || chdir("/") < 0)
			_exit(126);
		clearenv();
		setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
		setenv("HOME", "/root", 1);
		setenv("LC_ALL", "C", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out);
	if (input && write(in[1], input, strlen(input)) < 0)
		diag("in_root: cannot write stdin: %s", strerror(errno));
	close(in[1]);
	if (waitpid(pid, &st, 0) == pid)
		r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = read_text(outpath);
	if (!r.out)
		r.out = strdup("");
	return r;
}

static void show(const struct result *r)
{
	diag("exit %d, output:\n%s", r->status, r->out);
}

static void must_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		       const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		bail_out("mount %s on %s: %s", src ? src : type, dst, strerror(errno));
}

/* The root, through an overlay, with /proc, /dev/shm, /dev/pts and apsim's /sys. */
static void stage(const char *root, struct apsim *hsm)
{
	char upper[4200], wdir[4200], opts[13000], path[4200], sys[4200];

	if (unshare(CLONE_NEWNS) < 0)
		bail_out("unshare(CLONE_NEWNS): %s (make interop needs root)", strerror(errno));
	must_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (asprintf(&mnt, "%s/root", work) < 0)
		bail_out("out of memory");
	snprintf(upper, sizeof(upper), "%s/upper", work);
	snprintf(wdir, sizeof(wdir), "%s/overlay-work", work);
	mkdir(mnt, 0755);
	mkdir(upper, 0755);
	mkdir(wdir, 0755);
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", root, upper, wdir);
	must_mount("overlay", mnt, "overlay", 0, opts);
	snprintf(path, sizeof(path), "%s/proc", mnt);
	must_mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(path, sizeof(path), "%s/dev/shm", mnt);
	must_mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	/* Its own pseudo-terminals, for a helper that drives a tool on one. */
	snprintf(path, sizeof(path), "%s/dev/pts", mnt);
	must_mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
	snprintf(path, sizeof(path), "%s/dev/ptmx", mnt);
	snprintf(sys, sizeof(sys), "%s/dev/pts/ptmx", mnt);
	must_mount(sys, path, NULL, MS_BIND, NULL);
	snprintf(sys, sizeof(sys), "%s/sys", apsim_root(hsm));
	snprintf(path, sizeof(path), "%s/sys", mnt);
	must_mount(sys, path, NULL, MS_BIND | MS_REC, NULL);
}

/* Copy @rel of the build tree to @dst in the root. */
static void install(const char *rel, const char *dst_in_root)
{
	char dst[4200], buf[65536];
	const char *src = build_path(rel);
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s%s", mnt, dst_in_root);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		bail_out("cannot install %s in the root: %s", src, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			bail_out("cannot write %s: %s", dst, strerror(errno));
	close(in);
	if (n < 0 || close(out) < 0)
		bail_out("cannot install %s in the root", src);
}

static void stop_slotd(pid_t pid);

static void unstage(void)
{
	static const char *const under[] = { "sys", "dev/ptmx", "dev/pts", "dev/shm", "proc", "" };
	char path[4200];

	for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", mnt, under[i]);
		if (umount2(path, MNT_DETACH) < 0)
			diag("umount %s: %s", path, strerror(errno));
	}
}

/* Also on bail_out: no pkcsslotd, mount or directory outlives the test. */
static void cleanup(void)
{
	if (!work)
		return;
	stop_slotd(slotd);
	if (mnt)
		unstage();
	remove_tree(work);
	free(work);
	free(mnt);
	work = mnt = NULL;
}

static void configure(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/etc/opencryptoki/opencryptoki.conf", mnt);
	write_text(path, 0644,
		   "version opencryptoki-3.23\n\n"
		   "slot 0\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokversion = 3.12\n}\n"
		   "slot 1\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokname = ccatok2\n"
		   "tokversion = 3.12\n}\n");
	/* No protected keys: there is no /dev/pkey and no CPACF here. */
	snprintf(path, sizeof(path), "%s/etc/opencryptoki/ccatok.conf", mnt);
	write_text(path, 0644, "version cca-0\nPKEY_MODE = DISABLED\n");
}

static pid_t slotd_pid(void)
{
	char path[4200], *text;
	long pid = 0;

	snprintf(path, sizeof(path), "%s/run/opencryptoki/pkcsslotd.pid", mnt);
	text = read_text(path);
	if (text)
		pid = strtol(text, NULL, 10);
	free(text);
	return (pid_t)pid;
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

static void stop_slotd(pid_t pid)
{
	int i;

	if (!alive(pid))
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && alive(pid); i++)
		usleep(50 * 1000);
	if (alive(pid))
		kill(pid, SIGKILL);
}

static void pattern_hex(enum mk_type t, const struct apsim_key *k, char *out)
{
	struct mkvp p;

	apsim_key_mkvp(t, k, &p);
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", p.b[i]);
}

#define P11TOOL "pkcs11-tool --module $(echo /usr/lib/*/opencryptoki/libopencryptoki.so.0) " \
		"--slot %d --login --pin %s "
#define AES_CBC "--id a35a --mechanism AES-CBC --iv 000102030405060708090a0b0c0d0e0f "

/* Encrypt PLAIN with the token's AES key and decrypt it again. pkcs11-tool
 * picks the key to encrypt with by its ID, not its label. */
static bool key_works(const struct token *t, const char *when, bool refuse_old)
{
	struct result r = in_root(NULL, "%sprintf '%%s' '" PLAIN "' > /tmp/plain && "
				  P11TOOL AES_CBC "--encrypt --input-file /tmp/plain --output-file /tmp/ct && "
				  P11TOOL AES_CBC "--decrypt --input-file /tmp/ct --output-file /tmp/back && "
				  "cmp /tmp/plain /tmp/back && ! cmp -s /tmp/plain /tmp/ct",
				  refuse_old ? "export CSULCCA_REFUSE_OLD=1; " : "", t->slot, t->pin,
				  t->slot, t->pin);
	bool good = ok(r.status == 0,
		       "slot %d: the AES key encrypts and decrypts through PKCS#11 %s", t->slot, when);

	if (!good)
		show(&r);
	free(r.out);
	return good;
}

/* Sign a hash with the token's EC private key and verify it with its
 * public key. p11sak names the two halves LABEL:prv and LABEL:pub. */
static bool ec_key_works(const struct token *t, const char *when, bool refuse_old)
{
	struct result r = in_root(NULL, "%sprintf '%%s' '" PLAIN "' > /tmp/hash && "
				  P11TOOL "-m ECDSA --sign --label '" EC_LABEL ":prv' "
				  "--input-file /tmp/hash --output-file /tmp/sig && "
				  P11TOOL "-m ECDSA --verify --label '" EC_LABEL ":pub' "
				  "--input-file /tmp/hash --signature-file /tmp/sig",
				  refuse_old ? "export CSULCCA_REFUSE_OLD=1; " : "", t->slot, t->pin,
				  t->slot, t->pin);
	bool good = ok(r.status == 0, "slot %d: the EC key signs and verifies through PKCS#11 %s",
		       t->slot, when);

	if (!good)
		show(&r);
	free(r.out);
	return good;
}

/* Every key of every token works, under the master keys of the moment. */
static void keys_work(const char *when, bool refuse_old)
{
	for (size_t i = 0; i < NTOKENS; i++) {
		key_works(&TOKENS[i], when, refuse_old);
		ec_key_works(&TOKENS[i], when, refuse_old);
	}
}

/* p11app in the root, holding a token's AES key in an open session. */
struct app {
	pid_t pid;
	FILE *in, *out;
};

static void app_start(struct app *a, const struct token *t)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		bail_out("pipe: %s", strerror(errno));
	fflush(stdout);
	a->pid = fork();
	if (a->pid == 0) {
		char cmd[256];

		dup2(in[0], 0);
		dup2(out[1], 1);
		if (chroot(mnt) < 0 || chdir("/") < 0)
			_exit(126);
		clearenv();
		setenv("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		snprintf(cmd, sizeof(cmd), "exec p11app $(echo /usr/lib/*/opencryptoki/"
			 "libopencryptoki.so.0) %d %s a35a", t->slot, t->pin);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	a->in = fdopen(in[1], "w");
	a->out = fdopen(out[0], "r");
}

/* Send @cmd, return its answer line (static) or "" when the app is gone. */
static const char *app_ask(struct app *a, const char *cmd)
{
	static char line[128];

	if (cmd) {
		fprintf(a->in, "%s\n", cmd);
		fflush(a->in);
	}
	if (!fgets(line, sizeof(line), a->out))
		return "";
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static int app_stop(struct app *a)
{
	int st = 0;

	fclose(a->in);
	fclose(a->out);
	waitpid(a->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void app_uses(struct app *a, const char *when)
{
	const char *answer = app_ask(a, "use");

	if (!ok(strcmp(answer, "ok") == 0,
		"an application holding the AES key in one session uses it %s", when))
		diag("p11app: %s", answer);
}

static int count_matches(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char *created_op(const char *out)
{
	const char *p = strstr(out, "Master key change operation '");
	char *id;

	if (!p)
		return NULL;
	p += strlen("Master key change operation '");
	id = strndup(p, strcspn(p, "'"));
	return id;
}

int main(int argc, char **argv)
{
	const char *root = getenv("MKAGENT_INTEROP_ROOT");
	struct apsim_key newkey, newapka;
	struct app app;
	struct result r;
	struct apsim *hsm;
	char path[4200], hex[17], apka_hex[17], pins[64], *id;
	(void)argc;

	if (!root || !*root)
		bail_out("MKAGENT_INTEROP_ROOT is not set: run `make interop`, which builds the root");
	snprintf(path, sizeof(path), "%s/usr/sbin/pkcshsm_mk_change", root);
	if (access(path, X_OK) != 0)
		bail_out("%s: no pkcshsm_mk_change in it (%s)", root, strerror(errno));
	hsm = apsim_new(argv);
	if (!hsm || apsim_add_card(hsm, Q.card, "CEX8C") < 0 || apsim_add_queue(hsm, Q) < 0)
		bail_out("apsim: cannot build the testbed");
	/* The AP bus's default domain, which the token reads and apsim lacks. */
	snprintf(path, sizeof(path), "%s/sys/bus/ap/ap_domain", apsim_root(hsm));
	write_text(path, 0644, "%u\n", Q.domain);

	work = make_tmpdir("interop");
	atexit(cleanup);
	stage(root, hsm);
	install("selftest/interop/libcsulcca.so", "/usr/lib/libcsulcca.so");
	install("selftest/interop/p11app", "/usr/local/bin/p11app");
	configure();

	r = in_root(NULL, "pkcsslotd");
	slotd = slotd_pid();
	if (!ok(r.status == 0 && alive(slotd), "the real pkcsslotd starts in the root (pid %d)",
		(int)slotd)) {
		show(&r);
		bail_out("no pkcsslotd, nothing else can run");
	}
	free(r.out);

	r = in_root(NULL, "script -qec tty /dev/null");
	if (!ok(r.status == 0 && strstr(r.out, "/dev/pts/"), "a pseudo-terminal opens in the root"))
		show(&r);
	free(r.out);

	r = in_root(NULL, "pkcsconf -t");
	if (!ok(r.status == 0 && count_matches(r.out, "Model: CCA") == (int)NTOKENS,
		"pkcsconf -t lists %zu CCA tokens, loaded on the simulated adapter", NTOKENS))
		show(&r);
	free(r.out);

	for (size_t i = 0; i < NTOKENS; i++) {
		const struct token *t = &TOKENS[i];
		char label[64];

		snprintf(label, sizeof(label), "%s\n", t->label);
		r = in_root(label, "pkcsconf -I -c %d -S 87654321 && "
			    "pkcsconf -P -c %d -S 87654321 -n " SO_PIN " && "
			    "pkcsconf -u -c %d -S " SO_PIN " -n 12345678 && "
			    "pkcsconf -p -c %d -U 12345678 -n %s", t->slot, t->slot, t->slot, t->slot,
			    t->pin);
		if (!ok(r.status == 0, "slot %d: pkcsconf initializes the token '%s' and sets "
			"the SO and user PINs", t->slot, t->label))
			show(&r);
		free(r.out);
		r = in_root(NULL, "p11sak generate-key aes 256 --slot %d --pin %s --label '"
			    KEY_LABEL "' --id a35a && "
			    "p11sak generate-key ec prime256v1 --slot %d --pin %s --label '"
			    EC_LABEL "'", t->slot, t->pin, t->slot, t->pin);
		if (!ok(r.status == 0, "slot %d: p11sak generates an AES 256 key and an EC "
			"prime256v1 key pair", t->slot))
			show(&r);
		free(r.out);
	}
	keys_work("under the first master keys", false);
	app_start(&app, &TOKENS[0]);
	if (!ok(strcmp(app_ask(&app, NULL), "ready") == 0,
		"p11app logs in to slot 0 and finds the AES key, and keeps its session open"))
		bail_out("p11app did not start");
	app_uses(&app, "before the change");

	apsim_random_key(MK_CCA_AES, &newkey);
	apsim_random_key(MK_CCA_APKA, &newapka);
	if (apsim_load(hsm, Q, MK_CCA_AES, &newkey) < 0 ||
	    apsim_load(hsm, Q, MK_CCA_APKA, &newapka) < 0)
		bail_out("apsim: cannot load the new master keys");
	pattern_hex(MK_CCA_AES, &newkey, hex);
	pattern_hex(MK_CCA_APKA, &newapka, apka_hex);
	snprintf(pins, sizeof(pins), "%s\n%s\n", TOKENS[0].pin, TOKENS[1].pin);
	r = in_root(pins, "pkcshsm_mk_change reencipher -a %02x.%04x -A %s -p %s", Q.card,
		    Q.domain, hex, apka_hex);
	id = created_op(r.out);
	if (!ok(r.status == 0 && id,
		"pkcshsm_mk_change reencipher to the NEW AES key %s and APKA key %s succeeds, "
		"one USER PIN per slot", hex, apka_hex))
		show(&r);
	ok(strstr(r.out, "  Slot 0: Label: interop token                   \n") &&
		   strstr(r.out, "  Slot 1: Label: a label of exactly 32 characters\n"),
	   "it names each affected token as `  Slot N: Label: ` and the label padded to 32");
	ok(strstr(r.out, "Enter the USER PIN for slot 0: ") &&
		   strstr(r.out, "Enter the USER PIN for slot 1: "),
	   "it asks `Enter the USER PIN for slot N: ` for each");
	free(r.out);

	r = in_root(NULL, "pkcshsm_mk_change list -i '%s'", id ? id : "-");
	if (!ok(r.status == 0 && strstr(r.out, "Key objects have been re-enciphered"),
		"list shows the operation re-enciphered"))
		show(&r);
	free(r.out);
	{
		/* The same from outside the root, as mkagent's helper will run it. */
		char *const argv_list[] = { (char *)build_path("selftest/interop/pkcshsm_mk_change"),
					    "list", "-i", id ? id : "-", NULL };
		struct run_result rr;

		setenv("MKAGENT_INTEROP_MNT", mnt, 1);
		run_argv(&rr, argv_list);
		if (!ok(rr.status == 0 && strstr(rr.out, "Key objects have been re-enciphered"),
			"selftest/interop/pkcshsm_mk_change runs the real tool in the root from "
			"outside it"))
			diag("exit %d: %s%s", rr.status, rr.out, rr.err);
		run_result_free(&rr);
	}
	keys_work("while the change is pending", false);
	app_uses(&app, "after reencipher, in the same session");

	r = in_root(NULL, "pkcshsm_mk_change finalize -i '%s'", id ? id : "-");
	if (!ok(r.status != 0 && strstr(r.out, "NEW CCA AES master key register must be empty"),
		"finalize before activation is refused"))
		show(&r);
	free(r.out);

	if (apsim_activate(hsm, Q, MK_CCA_AES) < 0 || apsim_activate(hsm, Q, MK_CCA_APKA) < 0)
		bail_out("apsim: cannot activate the new master keys");
	/* Finalize logs in to every affected token, like reencipher. */
	r = in_root(pins, "pkcshsm_mk_change finalize -i '%s'", id ? id : "-");
	if (!ok(r.status == 0, "finalize succeeds after the activation"))
		show(&r);
	free(r.out);
	keys_work("under the new master keys after finalize, with keys under OLD refused", true);
	app_ask(&app, "refuse-old");
	app_uses(&app, "after finalize, in the same session, with keys under OLD refused");
	is_int(app_stop(&app), 0, "p11app logs out and ends cleanly");

	r = in_root(NULL, "pkcshsm_mk_change list");
	if (!ok(r.status == 0 && (!id || !strstr(r.out, id)), "the operation is gone from list"))
		show(&r);
	free(r.out);

	stop_slotd(slotd);
	ok(!alive(slotd), "pkcsslotd stops by its PID");
	free(id);
	cleanup();
	apsim_free(hsm);
	return done_testing();
}
