// SPDX-License-Identifier: MIT
/*
 * ock.c - the stage of test-agent and test-agent-kill: see ock.h.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ock.h"

#define SO_PIN "63518207"
#define KEY_LABEL "interop aes key"
#define EC_LABEL "interop ec key"
#define PLAIN "thirty-two bytes of clear text!!"

const struct token TOKENS[NTOKENS] = {
	{ 0, "interop token", "40724915" },
	{ 1, "a label of exactly 32 characters", "51806293" },
};
const struct apqn Q = { .card = 0x01, .domain = 0x06 };
char agent_log[4200];
pid_t agent;
static char pins[4200], helper[4200], pin_file[4200], conf[4400];

void configure(bool third_slot)
{
	stage_write("/etc/opencryptoki/opencryptoki.conf",
		    "version opencryptoki-3.23\n\n"
		    "slot 0\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokversion = 3.12\n}\n"
		    "slot 1\n{\nstdll = libpkcs11_cca.so\nconfname = ccatok.conf\ntokname = ccatok2\n"
		    "tokversion = 3.12\n}\n%s",
		    third_slot ? "slot 2\n{\nstdll = libpkcs11_ep11.so\ntokversion = 3.12\n}\n" : "");
	stage_write("/etc/opencryptoki/ccatok.conf", "version cca-0\nPKEY_MODE = DISABLED\n");
}

void restart_slotd(bool third_slot)
{
	struct result r;

	slotd_stop();
	configure(third_slot);
	if (!slotd_start(&r))
		bail_out("pkcsslotd does not start: %s", r.out);
	free(r.out);
}

#define P11TOOL "pkcs11-tool --module $(echo /usr/lib/*/opencryptoki/libopencryptoki.so.0) " \
		"--slot %d --login --pin %s "
#define AES_CBC "--id a35a --mechanism AES-CBC --iv 000102030405060708090a0b0c0d0e0f "

/* Every key of both tokens, through PKCS#11: AES encrypt and decrypt, EC
 * sign and verify; with @refuse_old, keys under OLD are refused. */
void keys_work(const char *when, bool refuse_old)
{
	for (size_t i = 0; i < NTOKENS; i++) {
		const struct token *t = &TOKENS[i];
		struct result r = in_root(
			NULL,
			"%sprintf '%%s' '" PLAIN "' > /tmp/plain && "
			P11TOOL AES_CBC "--encrypt --input-file /tmp/plain --output-file /tmp/ct && "
			P11TOOL AES_CBC "--decrypt --input-file /tmp/ct --output-file /tmp/back && "
			"cmp /tmp/plain /tmp/back && ! cmp -s /tmp/plain /tmp/ct && "
			P11TOOL "-m ECDSA --sign --label '" EC_LABEL ":prv' "
			"--input-file /tmp/plain --output-file /tmp/sig && "
			P11TOOL "-m ECDSA --verify --label '" EC_LABEL ":pub' "
			"--input-file /tmp/plain --signature-file /tmp/sig",
			refuse_old ? "export CSULCCA_REFUSE_OLD=1; " : "", t->slot, t->pin, t->slot,
			t->pin, t->slot, t->pin, t->slot, t->pin);

		if (!ok(r.status == 0, "slot %d: its AES and EC keys work through PKCS#11 %s", t->slot,
			when))
			show(&r);
		free(r.out);
	}
}

static void init_tokens(void)
{
	for (size_t i = 0; i < NTOKENS; i++) {
		const struct token *t = &TOKENS[i];
		char label[64];
		struct result r;

		snprintf(label, sizeof(label), "%s\n", t->label);
		r = in_root(label, "pkcsconf -I -c %d -S 87654321 && "
			    "pkcsconf -P -c %d -S 87654321 -n " SO_PIN " && "
			    "pkcsconf -u -c %d -S " SO_PIN " -n 12345678 && "
			    "pkcsconf -p -c %d -U 12345678 -n %s && "
			    "p11sak generate-key aes 256 --slot %d --pin %s --label '" KEY_LABEL
			    "' --id a35a && "
			    "p11sak generate-key ec prime256v1 --slot %d --pin %s --label '" EC_LABEL "'",
			    t->slot, t->slot, t->slot, t->slot, t->pin, t->slot, t->pin, t->slot, t->pin);
		if (r.status != 0)
			bail_out("slot %d: cannot initialize the token: %s", t->slot, r.out);
		free(r.out);
	}
}

/* The tool's operations: the files in /var/lib/opencryptoki/HSM_MK_CHANGE. */
int tool_ops(void)
{
	struct result r = in_root(NULL, "ls -A /var/lib/opencryptoki/HSM_MK_CHANGE");
	int n = 0;

	/* ID is an operation, ID-SLOT the patterns of one of its tokens */
	for (char *p = r.out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0'))
		n += strcspn(p, "\n") > 0 && memchr(p, '-', strcspn(p, "\n")) == NULL;
	if (r.status != 0)
		n = -1;
	free(r.out);
	return n;
}

void set_pin(const struct token *t, const char *pin)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", pins, t->label);
	if (pin)
		write_text(path, 0600, "%s\n", pin);
	else
		unlink(path);
}

int count_in_log(const char *needle)
{
	char *text = read_text(agent_log);
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

bool log_has(const char *needle)
{
	return count_in_log(needle) > 0;
}

/* The shipped profile with the paths of this test, and @extra appended to
 * the helper's options (the profile's settings). */
void install_profile(const char *extra)
{
	char cmd[16384];

	snprintf(cmd, sizeof(cmd),
		 "sed -e 's#/usr/libexec/mkagent/mkagent-opencryptoki#%s#g' "
		 "-e 's#--tool /usr/sbin/pkcshsm_mk_change#--tool %s%s%s#g' %s > %s/opencryptoki.profile",
		 helper, stage_tool(), extra ? " " : "", extra ? extra : "",
		 build_path("profiles/opencryptoki.profile"), profiles);
	if (system(cmd) != 0)
		bail_out("cannot install the profile");
}

void start_agent(void)
{
	agent = agent_start(NULL, agent_log, true, 300);
}

void reload_agent(void)
{
	static const char reloaded[] = "configuration and profiles reloaded";
	int before = count_in_log(reloaded);

	kill(agent, SIGHUP);
	if (!seen_again(reloaded, before, AGENT_WAIT_MS))
		diag("the agent did not reload its configuration");
}

/* Plan a change of @t1 (and @t2, when not MK_NONE) to new random keys,
 * and load them: the agent takes it from there. */
char *change(enum mk_type t1, enum mk_type t2, bool load)
{
	static const char *const opt[] = { [MK_CCA_SYM] = "-s", [MK_CCA_ASYM] = "-S",
					   [MK_CCA_AES] = "-A", [MK_CCA_APKA] = "-p" };
	struct apsim_key k1, k2;
	char h1[MKVP_STR_MAX], h2[MKVP_STR_MAX], apqn[16];
	struct run_result r;
	char *id;

	snprintf(apqn, sizeof(apqn), "%02x.%04x", Q.card, Q.domain);
	apsim_random_key(t1, &k1);
	hex_of(t1, &k1, h1);
	if (t2 != t1) {
		apsim_random_key(t2, &k2);
		hex_of(t2, &k2, h2);
		mk(&r, "plan", "-a", apqn, opt[t1], h1, opt[t2], h2, "--profiles", "opencryptoki", NULL);
	} else {
		mk(&r, "plan", "-a", apqn, opt[t1], h1, "--profiles", "opencryptoki", NULL);
	}
	id = created_id(r.out) ? strdup(created_id(r.out)) : NULL;
	if (!id)
		bail_out("plan: %s%s", r.out, r.err);
	run_result_free(&r);
	if (load) {
		apsim_load(sim, Q, t1, &k1);
		if (t2 != t1)
			apsim_load(sim, Q, t2, &k2);
	}
	return id;
}

void activate(enum mk_type t1, enum mk_type t2)
{
	apsim_activate(sim, Q, t1);
	if (t2 != t1)
		apsim_activate(sim, Q, t2);
}


static void release_path(char *buf, size_t size)
{
	snprintf(buf, size, "%s/pins-released", tmp);
}

void release_pins(void)
{
	char path[4400];

	release_path(path, sizeof(path));
	write_text(path, 0644, "released\n");
}

/* The PIN helper of mkagent.conf: mkagent-pin-file, held until
 * release_pins() when @held (a minute at most: nothing waits for good). */
void use_pin_helper(bool held)
{
	char slow[4400], released[4400];

	release_path(released, sizeof(released));
	if (held)
		unlink(released);
	else
		release_pins();
	snprintf(slow, sizeof(slow), "%s/slow-pin-file", tmp);
	write_text(slow, 0755, "#!/bin/sh\ni=0\nwhile [ ! -e '%s' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done\n"
		   "exec %s --dir '%s' \"$@\"\n", released, pin_file, pins);
	if (held)
		write_text(conf, 0644, "[agent]\npoll-interval = 1\nauto-finalize = yes\n"
			   "[pin]\nhelper = %s\n", slow);
	else
		write_text(conf, 0644, "[agent]\npoll-interval = 1\nauto-finalize = yes\n"
			   "[pin]\nhelper = %s --dir %s\n", pin_file, pins);
}

/* Whether process @pid (a /proc name) is in this test's mount namespace,
 * which stage_setup() made its own: it is this run's, not another run's
 * on the same machine. */
static bool ours(const char *pid)
{
	static char mine[64];
	char path[300], ns[64];
	ssize_t n;

	if (!mine[0] && (n = readlink("/proc/self/ns/mnt", mine, sizeof(mine) - 1)) > 0)
		mine[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/ns/mnt", pid);
	n = readlink(path, ns, sizeof(ns) - 1);
	if (n <= 0)
		return false;
	ns[n] = '\0';
	return !strcmp(ns, mine);
}

/* The PIDs of processes named @comm (cut to 15 characters, as the kernel does). */
int pids_named(const char *comm, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[300], *text;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		text = read_text(path);
		if (text && !strncmp(text, comm, 15) && text[strcspn(text, "\n")] == '\n' &&
		    strcspn(text, "\n") == (strlen(comm) < 15 ? strlen(comm) : 15) && n < max &&
		    ours(de->d_name))
			out[n++] = (pid_t)atoi(de->d_name);
		free(text);
	}
	if (d)
		closedir(d);
	return n;
}

/* Wait until no process of that name is left; false after @ms. */
bool none_named(const char *comm, int ms)
{
	pid_t p[8];

	for (int waited = 0; waited <= ms; waited += 50) {
		if (!pids_named(comm, p, 8))
			return true;
		sleep_ms(50);
	}
	return false;
}

/* Wait until the helper of @id is at the tool's first PIN prompt. */
bool at_prompt(const char *id)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "operation %s: opencryptoki reencipher: Enter the USER PIN "
		 "for slot 0: ", id);
	for (int i = 0; i < 1200 && !log_has(needle); i++)
		sleep_ms(50);
	return log_has(needle);
}

/* No operation of the tool is in a state it cannot go on from. */
bool none_stale(void)
{
	struct result r = in_root(NULL, "pkcshsm_mk_change list");
	bool good = r.status == 0 && !strstr(r.out, "State:       Initial") &&
		    !strstr(r.out, "Re-enciphering of key objects ongoing") &&
		    !strstr(r.out, "State:       Finalizing\n") && !strstr(r.out, "Canceling");

	if (!good)
		show(&r);
	free(r.out);
	return good;
}

/* The state letter of @pid (R, S, T, Z, ...) and its parent; '\0' when gone. */
char proc_state(pid_t pid, pid_t *ppid)
{
	char path[64], *text, *p, st = '\0';
	int pp = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = read_text(path);
	p = text ? strrchr(text, ')') : NULL;
	if (!p || sscanf(p + 1, " %c %d", &st, &pp) != 2)
		st = '\0';
	if (ppid)
		*ppid = pp;
	free(text);
	return st;
}

/* The one live process named @comm within @ms, or 0. */
pid_t one_named(const char *comm, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		pid_t p[8];
		int n = pids_named(comm, p, 8);

		for (int i = 0; i < n; i++)
			if (proc_state(p[i], NULL) != 'Z')
				return p[i];
		sleep_ms(20);
	}
	return 0;
}

/* Wait until @pid is a zombie or gone. */
bool ended(pid_t pid, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		char st = proc_state(pid, NULL);

		if (st == 'Z' || st == '\0')
			return true;
		sleep_ms(20);
	}
	return false;
}

/* The State: line of the tool's one operation (static). */
const char *tool_state(void)
{
	static char line[128];
	struct result r = in_root(NULL, "pkcshsm_mk_change list");
	const char *p = strstr(r.out, "State:");

	snprintf(line, sizeof(line), "%.*s", p ? (int)strcspn(p, "\n") : 4, p ? p : "none");
	free(r.out);
	return line;
}

/* Wait up to @ms for the count of @needle in the log to exceed @before. */
bool seen_again(const char *needle, int before, int ms)
{
	for (int waited = 0; waited <= ms; waited += 20) {
		if (count_in_log(needle) > before)
			return true;
		sleep_ms(20);
	}
	return false;
}

void ock_setup(char **argv)
{
	struct result r;

	sim = apsim_new(argv);
	if (!sim || apsim_add_card(sim, Q.card, "CEX8C") < 0 || apsim_add_queue(sim, Q) < 0)
		bail_out("apsim: cannot build the testbed");
	stage_setup(sim, Q.domain);
	configure(false);
	if (!slotd_start(&r))
		bail_out("pkcsslotd does not start: %s", r.out);
	free(r.out);
	init_tokens();
	keys_work("under the first master keys", false);

	tmp = make_tmpdir("ock");
	if (asprintf(&state, "%s/state", tmp) < 0 || asprintf(&profiles, "%s/profiles", tmp) < 0)
		bail_out("out of memory");
	mkdir(profiles, 0755);
	snprintf(pins, sizeof(pins), "%s/pins", tmp);
	mkdir(pins, 0700);
	for (size_t i = 0; i < NTOKENS; i++)
		set_pin(&TOKENS[i], TOKENS[i].pin);
	snprintf(helper, sizeof(helper), "%s", installed("helpers/mkagent-opencryptoki"));
	snprintf(pin_file, sizeof(pin_file), "%s", installed("helpers/mkagent-pin-file"));
	install_profile(NULL);
	snprintf(conf, sizeof(conf), "%s/mkagent.conf", tmp);
	use_pin_helper(false);
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", tmp);
	setenv("MKAGENT_STATE_DIR", state, 1);
	setenv("MKAGENT_PROFILES", profiles, 1);
	setenv("MKAGENT_CONFIG", conf, 1);
	start_agent();
}

int ock_run(const struct scenario *s, size_t n)
{
	const char *only = getenv("MKAGENT_INTEROP_ONLY");

	/* MKAGENT_INTEROP_ONLY=name,name runs only those scenarios */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(s[i].name);
		const char *p = only;

		while (p && (p = strstr(p, s[i].name)) &&
		       !((p == only || p[-1] == ',') && (p[len] == ',' || !p[len])))
			p += len;
		if (!only || p)
			s[i].run();
	}
	agent_stop(agent, SIGTERM);
	if (tap_exit_status() == 0)
		remove_tree(tmp);
	else
		diag("the agent's log: %s", agent_log);
	stage_teardown();
	apsim_free(sim);
	return done_testing();
}
