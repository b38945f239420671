// SPDX-License-Identifier: MIT
/* make install puts every part where the system looks for it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "tap.h"

int main(void)
{
	static const struct {
		const char *path;
		int mode;
	} files[] = {
		{ "usr/sbin/mkagent", 0755 },
		{ "usr/share/bash-completion/completions/mkagent", 0644 },
		{ "usr/share/mkagent/mkagent.rules.yml", 0644 },
		{ "usr/share/man/man8/mkagent.8", 0644 },
		{ "usr/share/man/man5/mkagent.conf.5", 0644 },
		{ "usr/share/man/man5/mkagent.profile.5", 0644 },
		{ "usr/share/man/man7/mkagent-helpers.7", 0644 },
		{ "usr/lib/udev/rules.d/90-mkagent.rules", 0644 },
		{ "usr/lib/systemd/system/mkagent.service", 0644 },
		{ "etc/mkagent/mkagent.conf", 0644 },
		{ "etc/mkagent/profiles/opencryptoki.profile", 0644 },
		{ "etc/mkagent/profiles/zkey.profile", 0644 },
		{ "etc/mkagent/profiles/zkey-kmip.profile", 0644 },
		{ "etc/mkagent/profiles/zkey-cryptsetup.profile", 0644 },
		{ "usr/libexec/mkagent/mkagent-opencryptoki", 0755 },
		{ "usr/libexec/mkagent/mkagent-zkey", 0755 },
		{ "usr/libexec/mkagent/mkagent-zkey-kmip", 0755 },
		{ "usr/libexec/mkagent/mkagent-zkey-cryptsetup", 0755 },
		{ "usr/libexec/mkagent/mkagent-pin-file", 0755 },
		{ "usr/libexec/mkagent/mkagent-pin-ask", 0755 },
		{ "usr/libexec/mkagent/mkagent-notify-mail", 0755 },
		{ "usr/libexec/mkagent/mkagent-notify-syslog", 0755 },
	};
	char *dest = make_tmpdir("install"), top[4096], cmd[8400], path[8400];
	struct stat st;

	snprintf(top, sizeof(top), "%s", build_path("."));
	snprintf(cmd, sizeof(cmd), "make -s -C %s install DESTDIR=%s PREFIX=/usr >/dev/null", top, dest);
	is_int(system(cmd), 0, "make install DESTDIR=... PREFIX=/usr");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dest, files[i].path);
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == (unsigned)files[i].mode, "installs %s (%o)",
		   files[i].path, files[i].mode);
	}
	snprintf(path, sizeof(path), "%s/usr/libexec/mkagent/mkagent-pin-file.c", dest);
	ok(access(path, F_OK) != 0, "but no helper source");
	remove_tree(dest);
	free(dest);
	return done_testing();
}
