// SPDX-License-Identifier: MIT
/*
 * make install puts every part where the system looks for it, and the
 * installed files name the paths they were installed to: with PREFIX=/usr
 * (Debian) and with the default PREFIX=/usr/local. It installs from a copy
 * of the build, so the build tree keeps its own agent/io/paths.h.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "tap.h"

/* Whether the file at @path holds the bytes of @needle (also a binary). */
static bool file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	size_t n = strlen(needle), len = 0, size = 0;
	char *buf = NULL;
	bool found;

	if (!f)
		return false;
	for (size_t r = 1; r > 0; len += r) {
		if (len + 65536 > size && !(buf = realloc(buf, size = 2 * size + 65536)))
			bail_out("out of memory");
		r = fread(buf + len, 1, size - len, f);
	}
	fclose(f);
	found = len >= n && memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

/*
 * Every path of mkagent's own (under @prefix, or /etc/mkagent) that the
 * installed unit, configuration and profiles name exists under @dest, and
 * none of them names mkagent's files under @other_prefix.
 */
static void installed_paths_exist(const char *dest, const char *prefix, const char *other_prefix)
{
	static const char *const own[] = { "sbin/mkagent", "libexec/mkagent/", "share/mkagent/" };
	static const char *const files[] = {
		"lib/systemd/system/mkagent.service",	  "/etc/mkagent/mkagent.conf",
		"/etc/mkagent/profiles/opencryptoki.profile", "/etc/mkagent/profiles/zkey.profile",
		"/etc/mkagent/profiles/zkey-kmip.profile",	  "/etc/mkagent/profiles/zkey-cryptsetup.profile",
	};
	int named = 0, missing = 0, foreign = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[8400], *text;

		snprintf(path, sizeof(path), "%s%s%s", dest, files[i][0] == '/' ? "" : prefix, files[i]);
		text = read_text(path);
		if (!text) {
			diag("cannot read %s", path);
			missing++;
			continue;
		}
		for (char *p = text; (p = strchr(p, '/')); p++) {
			char tok[4096], full[8400];
			size_t n = strcspn(p, " \t\n;,\"'");

			if (p > text && strchr("/.-_", p[-1]) == NULL && isalnum((unsigned char)p[-1]))
				continue;
			snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
			while (n > 1 && tok[n - 1] == '.')
				tok[--n] = '\0';
			for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
				char mine[256], theirs[256];

				snprintf(mine, sizeof(mine), "%s%s", prefix, own[k]);
				snprintf(theirs, sizeof(theirs), "%s%s", other_prefix, own[k]);
				if (!strncmp(tok, theirs, strlen(theirs)) && strncmp(tok, mine, strlen(mine))) {
					diag("%s names %s", files[i], tok);
					foreign++;
				}
			}
			if (strncmp(tok, prefix, strlen(prefix)) && strncmp(tok, "/etc/mkagent/", 13))
				continue;
			if ((!strncmp(tok, "/usr/bin/", 9) || !strncmp(tok, "/usr/sbin/", 10)) &&
			    !strstr(tok, "mkagent"))
				continue; /* the consumers' tools: zkey, pkcshsm_mk_change */
			named++;
			snprintf(full, sizeof(full), "%s%s", dest, tok);
			if (access(full, F_OK) != 0) {
				diag("%s names %s, which is not installed", files[i], tok);
				missing++;
			}
			p += n - 1;
		}
		free(text);
	}
	ok(named > 10 && missing == 0,
	   "every path under %s the installed unit, configuration and profiles name is installed (%d)",
	   prefix, named);
	is_int(foreign, 0, "none names mkagent's files under %s", other_prefix);
}

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
	char *dest = make_tmpdir("install"), *copy = make_tmpdir("install-src"), top[4096], cmd[8400],
	     path[8400];
	struct stat st;

	snprintf(top, sizeof(top), "%s", build_path("."));
	snprintf(cmd, sizeof(cmd),
		 "cd %s && cp -a Makefile .build-flags agent helpers profiles etc rules man completion %s/",
		 top, copy);
	if (system(cmd) != 0)
		bail_out("cannot copy the build to %s", copy);
	snprintf(cmd, sizeof(cmd), "make -s -C %s install DESTDIR=%s PREFIX=/usr >/dev/null", copy, dest);
	is_int(system(cmd), 0, "make install DESTDIR=... PREFIX=/usr");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dest, files[i].path);
		ok(stat(path, &st) == 0 && (st.st_mode & 0777) == (unsigned)files[i].mode, "installs %s (%o)",
		   files[i].path, files[i].mode);
	}
	snprintf(path, sizeof(path), "%s/usr/libexec/mkagent/mkagent-pin-file.c", dest);
	ok(access(path, F_OK) != 0, "but no helper source");
	snprintf(path, sizeof(path), "%s/usr/libexec/mkagent/opencryptoki", dest);
	ok(access(path, F_OK) != 0, "nor a helper's folder of sources");
	installed_paths_exist(dest, "/usr/", "/usr/local/");
	remove_tree(dest);
	free(dest);

	dest = make_tmpdir("install-local");
	snprintf(cmd, sizeof(cmd), "make -s -C %s install DESTDIR=%s >/dev/null", copy, dest);
	is_int(system(cmd), 0, "make install DESTDIR=... (PREFIX=/usr/local)");
	installed_paths_exist(dest, "/usr/local/", "/usr/");
	snprintf(path, sizeof(path), "%s/usr/local/sbin/mkagent", dest);
	ok(file_has(path, "/usr/local/libexec/mkagent/mkagent-pin-file") &&
		   !file_has(path, "/usr/libexec/mkagent/"),
	   "mkagent's default PIN helper is /usr/local/libexec/mkagent/mkagent-pin-file");
	snprintf(path, sizeof(path), "%s/usr/local/share/man/man8/mkagent.8", dest);
	ok(file_has(path, "/usr/local/lib/udev/rules.d/90\\-mkagent.rules") &&
		   file_has(path, "/usr/local/lib/systemd/system/mkagent.service") &&
		   file_has(path, "/usr/local/share/bash-completion/completions/mkagent") &&
		   file_has(path, "/usr/local/share/mkagent/mkagent.rules.yml") &&
		   !file_has(path, "/usr/lib/") && !file_has(path, "/usr/share/"),
	   "mkagent(8) names the rule, the unit, the completion and the fleet rules where they are");
	remove_tree(dest);
	free(dest);
	remove_tree(copy);
	free(copy);
	return done_testing();
}
