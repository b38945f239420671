// SPDX-License-Identifier: MIT
/* mkagent.conf and profiles: what they say, and errors naming file and line. */
#include <errno.h>

#include "io/config.h"
#include "io/profile.h"
#include "run.h"
#include "tap.h"

static void conf_bad(const char *text, const char *msg)
{
	struct config c;
	struct errmsg e = { "" };

	config_defaults(&c);
	c.poll_interval = 7;
	is_int(config_parse(&c, "/etc/mkagent/mkagent.conf", text, &e), -EINVAL, "conf refused: %s", msg);
	is_string(e.text, msg, "message");
	is_int(c.poll_interval, 7, "the configuration is left as it was");
}

static void prof_bad(const char *text, const char *msg)
{
	struct profile p;
	struct errmsg e = { "" };

	is_int(profile_parse(&p, "x", "/p/x.profile", text, &e), -EINVAL, "profile refused: %s", msg);
	is_string(e.text, msg, "message");
}

int main(void)
{
	struct config c;
	struct profile p;
	struct errmsg e;
	char *shipped = read_text(build_path("etc/mkagent.conf"));

	config_defaults(&c);
	ok(shipped != NULL, "etc/mkagent.conf is shipped");
	is_int(config_parse(&c, "etc/mkagent.conf", shipped ? shipped : "", &e), 0, "and parses");
	free(shipped);
	ok(c.poll_interval == 30 && c.event_source == EVENT_SOURCE_UDEV && c.auto_finalize &&
		   c.auto_recover && !c.notify_helper[0] && !c.query_helper[0],
	   "its values are the defaults");
	/* make install rewrites /usr/libexec/mkagent to LIBEXECDIR (test-install) */
	ok(c.pin_helper_set && streq(c.pin_helper, "/usr/libexec/mkagent/mkagent-pin-file"),
	   "the PIN helper is named");
	config_defaults(&c);
	ok(!c.pin_helper_set && strstr(c.pin_helper, "/libexec/mkagent/mkagent-pin-file"),
	   "the default PIN helper is LIBEXECDIR/mkagent-pin-file: %s", c.pin_helper);

	config_defaults(&c);
	is_int(config_parse(&c, "f", "[agent]\npoll-interval = 5 ; fast\nevent-source = kernel\n"
				      "auto-finalize = no\n[registers]\nquery-helper = /usr/bin/q\n",
			    &e),
	       0, "a configuration with comments parses");
	ok(c.poll_interval == 5 && c.event_source == EVENT_SOURCE_KERNEL && !c.auto_finalize &&
		   streq(c.query_helper, "/usr/bin/q") && !c.pin_helper_set,
	   "and says what it says");

	conf_bad("[agent]\npoll-interval = 0\n",
		 "/etc/mkagent/mkagent.conf: line 2: poll-interval must be 1 to 86400 seconds, not '0'");
	conf_bad("[agent]\npoll-interval = 3s\n",
		 "/etc/mkagent/mkagent.conf: line 2: poll-interval must be 1 to 86400 seconds, not '3s'");
	conf_bad("[agent]\nevent-source = dbus\n",
		 "/etc/mkagent/mkagent.conf: line 2: event-source must be udev or kernel, not 'dbus'");
	conf_bad("[agent]\n\nauto-recover = sometimes\n",
		 "/etc/mkagent/mkagent.conf: line 3: auto-recover must be yes or no, not 'sometimes'");
	conf_bad("[agent]\npoll = 3\n", "/etc/mkagent/mkagent.conf: line 2: unknown key 'poll' in [agent]");
	conf_bad("[daemon]\npoll-interval = 3\n", "/etc/mkagent/mkagent.conf: line 2: unknown section [daemon]");
	conf_bad("[pin]\nhelper = pin-file\n",
		 "/etc/mkagent/mkagent.conf: line 2: [pin] helper must be an absolute path, not 'pin-file'");
	conf_bad("[agent]\n auto-finalize = no\n", "/etc/mkagent/mkagent.conf: line 2: starts with a blank");
	conf_bad("[agent]\nauto-finalize\n", "/etc/mkagent/mkagent.conf: line 2: not a key = value line");
	conf_bad("[agent\npoll-interval = 5\n", "/etc/mkagent/mkagent.conf: line 1: unterminated section header");
	conf_bad("[agent]\npoll-interval = 5\n[pin ; the PIN helper]\nhelper =\n",
		 "/etc/mkagent/mkagent.conf: line 3: unterminated section header");
	conf_bad("[agent]\nauto-finalize\nauto-recover = no\n[metrics\n",
		 "/etc/mkagent/mkagent.conf: line 2: not a key = value line");
	conf_bad("[agent]\npoll-interval = 0\nauto-recover = sometimes\n",
		 "/etc/mkagent/mkagent.conf: line 2: poll-interval must be 1 to 86400 seconds, not '0'");
	config_defaults(&c);
	is_int(config_parse(&c, "f", "\xEF\xBB\xBF[agent]\n# [x\n; y\npoll-interval = 9 ; [z\n", &e), 0,
	       "a byte order mark, comments and an inline comment are not errors");
	is_int(c.poll_interval, 9, "(the value before the inline comment is read)");

	is_int(profile_parse(&p, "occ", "/p/occ.profile",
			     "[profile]\ndescription = openCryptoki\nmk-types = cca-sym cca-aes ep11\npin = yes\n"
			     "[reencipher]\nexec = /usr/libexec/mkagent/h reencipher\ntimeout = 60\n"
			     "[finalize]\nexec = /usr/libexec/mkagent/h finalize\n",
			     &e),
	       0, "a profile parses");
	ok(p.types[MK_CCA_SYM] && p.types[MK_CCA_AES] && p.types[MK_EP11] && !p.types[MK_CCA_APKA],
	   "its MK types");
	ok(p.pin && p.phase[PHASE_REENCIPHER].present && p.phase[PHASE_REENCIPHER].timeout == 60 &&
		   p.phase[PHASE_FINALIZE].timeout == PROFILE_TIMEOUT_DEFAULT && !p.phase[PHASE_CANCEL].present,
	   "its PIN flag, phases and timeouts");

	prof_bad("[profile]\nmk-types = cca-aes\n[reencipher]\nexec = h\n",
		 "/p/x.profile: line 4: exec must start with an absolute path, not 'h'");
	prof_bad("[profile]\nmk-types = cca-aes cca-des\n",
		 "/p/x.profile: line 2: unknown MK type 'cca-des' in mk-types");
	prof_bad("[profile]\nmk-types = cca-aes\npin = sometimes\n",
		 "/p/x.profile: line 3: pin must be yes or no, not 'sometimes'");
	prof_bad("[profile]\nmk-types = cca-aes\n[rotate]\nexec = /bin/true\n",
		 "/p/x.profile: line 4: unknown section [rotate]");
	prof_bad("[profile]\nmk-types = cca-aes\n[reencipher\nexec = /bin/true\n",
		 "/p/x.profile: line 3: unterminated section header");
	prof_bad("[profile]\nmk-types = cca-aes\n[finalize]\nexec = /bin/true\ntimeout = -1\n",
		 "/p/x.profile: line 5: timeout must be 1 to 86400 seconds, not '-1'");
	prof_bad("[profile]\nmk-types = cca-aes\n[finalize]\nrun = /bin/true\n",
		 "/p/x.profile: line 4: unknown key 'run' in [finalize]");
	prof_bad("[profile]\ndescription = nothing\n[finalize]\nexec = /bin/true\n",
		 "/p/x.profile: no mk-types in [profile]");
	prof_bad("[profile]\nmk-types = ep11\n", "/p/x.profile: no phase has an exec");
	return done_testing();
}
