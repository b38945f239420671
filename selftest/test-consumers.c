// SPDX-License-Identifier: MIT
/*
 * The shipped profiles and helpers of the real consumers (the zkey
 * repository, the zkey KMIP plugin, LUKS2 volumes), driven by the agent
 * against the tool simulators: full CCA and EP11 changes with nobody
 * typing after `plan`, and recovery from an early activation. openCryptoki
 * runs against the real pkcshsm_mk_change in `make interop`
 * (selftest/interop/test-agent.c): its simulator was removed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "tap.h"
#include "core/macro.h"

static char world[4096], bin[4200], zkeydir[4200];
static pid_t agent;

static void store(const char *rel, struct apqn a, const char *type, int n)
{
	char path[8400];

	snprintf(path, sizeof(path), "%s/%s", world, rel);
	simkeys_init(path, a, type, n, false);
}

static bool verified(const char *rel, struct apqn a, char *out, size_t size)
{
	char path[8400];

	snprintf(path, sizeof(path), "%s/%s", world, rel);
	return verify_store(path, a, out, size) == 0 && strstr(out, ", 0 staged");
}

/* A short name for the tools' directories: profile lines are short (the exec
 * lines with four paths of the test directory would not fit). */
static char short_dir[64] = "/tmp/mkz.XXXXXX";

/* The shipped profile with its paths pointed at the simulated system. */
static void install_profile(const char *name)
{
	char helpers[4096], src[4200], cmd[40000];

	_cleanup_free_ char *copy = installed("helpers");

	snprintf(helpers, sizeof(helpers), "%s", copy);
	snprintf(src, sizeof(src), "%s/%s.profile", build_path("profiles"), name);
	snprintf(cmd, sizeof(cmd),
		 "sed -e 's#/usr/libexec/mkagent/#%s/#g'"
		 " -e 's#/usr/bin/zkey-cryptsetup#%s/b/zkey-cryptsetup#g' -e 's#/usr/bin/zkey #%s/b/zkey #g'"
		 " -e 's#/etc/zkey/repository#%s/r#g' %s > %s/%s.profile",
		 helpers, short_dir, short_dir, short_dir, src, profiles, name);
	if (system(cmd) != 0)
		bail_out("cannot install profile %s", name);
}

static void wrapper(const char *name, const char *target)
{
	char path[8400];

	snprintf(path, sizeof(path), "%s/%s", bin, name);
	write_text(path, 0755, "#!/bin/sh\nexec %s --sim-dir %s \"$@\"\n", target, zkeydir);
}

static void zkey_key(const char *name, struct apqn a, const char *apqns, const char *type,
		     const char *volumes, bool kms)
{
	char path[8400], rel[256];

	snprintf(rel, sizeof(rel), "zkey/repository/%s.skey", name);
	store(rel, a, type, 1);
	snprintf(path, sizeof(path), "%s/repository/%s.info", zkeydir, name);
	write_text(path, 0644, "apqns=%s\n%s%s%svolume-type=luks2\nkms=%s\n", apqns, volumes[0] ? "volumes=" : "",
		   volumes, volumes[0] ? "\n" : "", kms ? "KMIP" : "LOCAL");
}

static void setup_world(void)
{
	char path[8400];

	snprintf(world, sizeof(world), "%s/world", tmp);
	snprintf(bin, sizeof(bin), "%s/bin", world);
	snprintf(zkeydir, sizeof(zkeydir), "%s/zkey", world);
	mkdir(world, 0700);
	mkdir(bin, 0755);
	mkdir(zkeydir, 0700);
	snprintf(path, sizeof(path), "%s/repository", zkeydir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/kms", zkeydir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/volumes", zkeydir);
	mkdir(path, 0700);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/hsm", i ? zkeydir : world);
		write_text(path, 0644, "%s\n", apsim_hsm_dir(sim));
		snprintf(path, sizeof(path), "%s/simkeys", i ? zkeydir : world);
		write_text(path, 0644, "%s\n", simkeys);
	}
	/* zkey: keys of both kinds, with volumes and KMIP bindings */
	zkey_key("cca-vol", CCA[0], "08.0033,09.0033,0b.0033", "cca-aes", "/dev/dasdc1:encvol", false);
	zkey_key("cca-kmip", CCA[0], "08.0033,09.0033,0b.0033", "cca-aes", "", true);
	zkey_key("ep11-vol", EP11[0], "0a.0033,0c.0033", "ep11", "/dev/dasdd1:encvol2", true);
	store("zkey/volumes/_dev_dasdc1.skey", CCA[0], "cca-aes", 1);
	store("zkey/volumes/_dev_dasdd1.skey", EP11[0], "ep11", 1);
	/* the LUKS2 passphrases: the PIN helper answers every label with PIN */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/volumes/_dev_dasd%c1.pass", zkeydir, i ? 'd' : 'c');
		write_text(path, 0600, "%s\n", PIN);
	}
	/* the repository is bound to the KMIP plugin */
	snprintf(path, sizeof(path), "%s/repository/kms.conf", zkeydir);
	write_text(path, 0644, "kms=KMIP\n");
	/* the KMIP plugin first on the CCA APQNs: APKA identity and wrapping keys */
	store("zkey/kms/identity.skey", CCA[0], "cca-apka", 1);
	store("zkey/kms/wrapping.skey", CCA[0], "cca-apka", 1);
	snprintf(path, sizeof(path), "%s/kms/apqns", zkeydir);
	write_text(path, 0644, "08.0033,09.0033,0b.0033\n");

	wrapper("zkey", build_path("selftest/tools/zkey"));
	snprintf(path, sizeof(path), "%s/zkey-cryptsetup", bin);
	write_text(path, 0755, "#!/bin/sh\nexec %s/zkey-cryptsetup --sim-dir %s \"$@\"\n", world, zkeydir);
	snprintf(path, sizeof(path), "%s/zkey-cryptsetup", world);
	if (symlink(build_path("selftest/tools/zkey"), path) < 0)
		bail_out("symlink");
	snprintf(path, sizeof(path), "%s/volumes/apqns", zkeydir);
	write_text(path, 0644, "08.0033,09.0033,0b.0033\n");

	if (!mkdtemp(short_dir))
		bail_out("mkdtemp");
	snprintf(path, sizeof(path), "%s/b", short_dir);
	if (symlink(bin, path) < 0)
		bail_out("symlink");
	snprintf(path, sizeof(path), "%s/r", short_dir);
	{
		char target[8400];

		snprintf(target, sizeof(target), "%s/repository", zkeydir);
		if (symlink(target, path) < 0)
			bail_out("symlink");
	}
	install_profile("zkey");
	install_profile("zkey-kmip");
	install_profile("zkey-cryptsetup");
}

static void start_agent(void)
{
	char conf[4200], log[4200];

	snprintf(conf, sizeof(conf), "%s/agent.conf", tmp);
	write_text(conf, 0644, "[agent]\npoll-interval = 1\n[pin]\nhelper = %s/pin-helper\n", tmp);
	setenv("MKAGENT_CONFIG", conf, 1);
	snprintf(log, sizeof(log), "%s/agent.log", tmp);
	agent = agent_start(NULL, log, true, 300);
}

static char *plan_real(const char *apqns, const char *opt1, const char *p1, const char *opt2,
		       const char *p2, const char *profs)
{
	struct run_result r;
	char *id;

	if (opt2)
		mk(&r, "plan", "-a", apqns, opt1, p1, opt2, p2, "--profiles", profs, NULL);
	else
		mk(&r, "plan", "-a", apqns, opt1, p1, "--profiles", profs, NULL);
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan: %s", r.err);
	run_result_free(&r);
	return id;
}

static void cca_cycle(void)
{
	struct apsim_key aes, apka;
	char A[MKVP_STR_MAX], P[MKVP_STR_MAX], out[256], *id;
	static const char *const stores[] = { "zkey/repository/cca-vol.skey",
					      "zkey/repository/cca-kmip.skey", "zkey/kms/identity.skey",
					      "zkey/kms/wrapping.skey", "zkey/volumes/_dev_dasdc1.skey" };

	apsim_random_key(MK_CCA_AES, &aes);
	apsim_random_key(MK_CCA_APKA, &apka);
	hex_of(MK_CCA_AES, &aes, A);
	hex_of(MK_CCA_APKA, &apka, P);
	id = plan_real("08.0033,09.0033,0b.0033", "-A", A, "-p", P,
		       "zkey,zkey-kmip,zkey-cryptsetup");
	load_all(CCA, 3, MK_CCA_AES, &aes);
	load_all(CCA, 3, MK_CCA_APKA, &apka);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "CCA: the three zkey consumers re-enciphered");
	activate_all(CCA, 3, MK_CCA_AES);
	activate_all(CCA, 3, MK_CCA_APKA);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "CCA: and finalized");
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		bool good = verified(stores[i], CCA[2], out, sizeof(out));

		ok(good, "CCA: %s is under the new master key: %s", stores[i], out);
	}
	free(id);
}

static void ep11_cycle(void)
{
	struct apsim_key wk;
	char E[MKVP_STR_MAX], out[256], path[9000], *id;
	static const char *const stores[] = { "zkey/repository/ep11-vol.skey",
					      "zkey/kms/identity.skey", "zkey/kms/wrapping.skey",
					      "zkey/volumes/_dev_dasdd1.skey" };

	/* the KMIP plugin moves to the EP11 APQNs */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/kms/%s.skey", zkeydir, i ? "wrapping" : "identity");
		if (remove_tree(path) < 0)
			bail_out("cannot remove %s", path);
	}
	store("zkey/kms/identity.skey", EP11[0], "ep11", 1);
	store("zkey/kms/wrapping.skey", EP11[0], "ep11", 1);
	snprintf(path, sizeof(path), "%s/kms/apqns", zkeydir);
	write_text(path, 0644, "0a.0033,0c.0033\n");
	snprintf(path, sizeof(path), "%s/volumes/apqns", zkeydir);
	write_text(path, 0644, "0a.0033,0c.0033\n");

	apsim_random_key(MK_EP11, &wk);
	hex_of(MK_EP11, &wk, E);
	id = plan_real("0a.0033,0c.0033", "-e", E, NULL, NULL, "zkey,zkey-kmip,zkey-cryptsetup");
	load_all(EP11, 2, MK_EP11, &wk);
	ok(wait_state(id, "reenciphered", AGENT_WAIT_MS, NULL), "EP11: the three zkey consumers re-enciphered");
	activate_all(EP11, 2, MK_EP11);
	ok(wait_state(id, "finalized", AGENT_WAIT_MS, NULL), "EP11: and finalized");
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		bool good = verified(stores[i], EP11[1], out, sizeof(out));

		ok(good, "EP11: %s is under the new wrapping key: %s", stores[i], out);
	}
	free(id);
}

static void wait_reason(const char *id)
{
	for (int i = 0; i < 600 && strncmp(op_field(id, "reason"), "activated-early, recovered", 26) != 0; i++)
		sleep_ms(50);
}

static void early(void)
{
	struct apsim_key aes, wk;
	char A[MKVP_STR_MAX], E[MKVP_STR_MAX], out[256], *id;

	apsim_random_key(MK_CCA_AES, &aes);
	hex_of(MK_CCA_AES, &aes, A);
	id = plan_real("08.0033,09.0033,0b.0033", "-A", A, NULL, NULL, "zkey,zkey-kmip");
	apsim_load(sim, CCA[0], MK_CCA_AES, &aes);
	apsim_activate(sim, CCA[0], MK_CCA_AES);
	ok(wait_state(id, "error", AGENT_WAIT_MS, NULL), "CCA, activated early: error");
	wait_reason(id);
	is_string(op_field(id, "reason"), "activated-early, recovered: zkey zkey-kmip, not recovered: none",
		  "CCA: zkey recovers its keys from OLD, the KMIP plugin by a refresh");
	ok(verified("zkey/repository/cca-vol.skey", CCA[0], out, sizeof(out)) &&
		   verified("zkey/repository/cca-kmip.skey", CCA[0], out, sizeof(out)),
	   "CCA: the repository's keys work under the new CUR: %s", out);
	free(id);

	apsim_random_key(MK_EP11, &wk);
	hex_of(MK_EP11, &wk, E);
	id = plan_real("0a.0033,0c.0033", "-e", E, NULL, NULL, "zkey,zkey-kmip");
	apsim_load(sim, EP11[0], MK_EP11, &wk);
	apsim_activate(sim, EP11[0], MK_EP11);
	ok(wait_state(id, "error", AGENT_WAIT_MS, NULL), "EP11, activated early: error");
	wait_reason(id);
	is_string(op_field(id, "reason"), "activated-early, recovered: none, not recovered: zkey zkey-kmip",
		  "EP11: no OLD register, and the KMIP plugin's identity key is lost: the reason names both");
	ok(!verified("zkey/repository/ep11-vol.skey", EP11[0], out, sizeof(out)),
	   "EP11: the KMIP-bound key is not under the new wrapping key, and nobody said it was: %s", out);
	free(id);
}

int main(int argc, char **argv)
{
	(void)argc;
	fixture_setup(argv);
	setup_world();
	start_agent();
	cca_cycle();
	ep11_cycle();
	early();
	agent_stop(agent, SIGTERM);
	if (tap_exit_status())
		diag("agent log: %s/agent.log", tmp);
	apsim_free(sim);
	for (int i = 0; i < 2; i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%c", short_dir, i ? 'r' : 'b');
		unlink(path);
	}
	rmdir(short_dir);
	return done_testing();
}
