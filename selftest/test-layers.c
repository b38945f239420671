/* SPDX-License-Identifier: MIT */
/*
 * test-layers - the layering of agent/ holds (README, "Layout"):
 *
 *   core/    pure: values, mkvps, the operation and INI model, uevent
 *            parsing, the register view, guards, the decision. Includes
 *            core/ only, no system header that does I/O, and calls no
 *            function that does (fopen, getenv, printf, ...).
 *   io/      the AP bus, the state store, the runner, PINs, logs: core, io.
 *   step/    the steps, used by both entry points: core, io, step.
 *   daemon/  the agent: core, io, step, daemon (never cmd/).
 *   cmd/     the commands and main(): everything.
 *
 * Every source file lives in one of those folders, and none is longer
 * than 500 lines; nor is any C file of the helpers and of the tests
 * (helpers/, selftest/). One failing line per file that breaks a rule.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/macro.h"
#include "run.h"
#include "tap.h"

#define MAX_LINES 500

struct layer {
	const char *name;
	const char *may_include; /* space-separated layer names */
};

static const struct layer layers[] = {
	{ "core", "core" },
	{ "io", "core io" },
	{ "step", "core io step" },
	{ "daemon", "core io step daemon" },
	{ "cmd", "core io step daemon cmd" },
};

/* Calls pure code never makes, though its headers (stdio.h, stdlib.h)
 * declare them: files, processes, the environment, printing. */
static const char *const io_calls[] = {
	"fopen", "freopen", "fdopen", "popen", "open", "openat", "opendir", "stat", "fstat",
	"lstat", "fstatat", "unlink", "rename", "socket", "fork", "system", "getenv", "printf",
	"puts", "perror", "syslog",
};

/* System headers pure code may use: no files, sockets, processes, clocks. */
static const char *const pure_system[] = {
	"ctype.h", "errno.h", "inttypes.h", "limits.h", "stdarg.h", "stdbool.h", "stddef.h",
	"stdint.h", "stdio.h", "stdlib.h", "string.h", "strings.h", "time.h", "ini.h",
};

static const struct layer *layer_named(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++)
		if (strlen(layers[i].name) == len && strncmp(layers[i].name, name, len) == 0)
			return &layers[i];
	return NULL;
}

static bool word_in(const char *words, const char *w, size_t len)
{
	for (const char *p = words; *p;) {
		size_t n = strcspn(p, " ");

		if (n == len && strncmp(p, w, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

static bool pure_header(const char *h, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(pure_system); i++)
		if (strlen(pure_system[i]) == len && strncmp(pure_system[i], h, len) == 0)
			return true;
	return false;
}

/* An I/O call on @line of a core/ file ("name(" as a word), or NULL. */
static const char *io_call(const char *line, char *why, size_t size)
{
	const char *p = line + strspn(line, " \t");

	if (p[0] == '*' || (p[0] == '/' && (p[1] == '*' || p[1] == '/')))
		return NULL; /* a comment */
	for (size_t i = 0; i < ARRAY_SIZE(io_calls); i++) {
		size_t n = strlen(io_calls[i]);

		for (const char *q = strstr(line, io_calls[i]); q; q = strstr(q + 1, io_calls[i])) {
			const char *after = q + n;

			if (q > line && (isalnum((unsigned char)q[-1]) || q[-1] == '_'))
				continue;
			after += strspn(after, " ");
			if (*after == '(') {
				snprintf(why, size, "calls %s(), which does I/O", io_calls[i]);
				return why;
			}
		}
	}
	return NULL;
}

/* The first rule @line (an #include) breaks in a file of @l, or NULL. */
static const char *broken_rule(const struct layer *l, const char *line, char *why, size_t size)
{
	const char *p = line + strspn(line, " \t");

	if (strcmp(l->name, "core") == 0 && io_call(line, why, size))
		return why;
	if (strncmp(p, "#include", 8) != 0)
		return NULL;
	p += 8;
	p += strspn(p, " \t");
	if (*p == '<') {
		size_t len = strcspn(p + 1, ">");

		if (strcmp(l->name, "core") == 0 && !pure_header(p + 1, len)) {
			snprintf(why, size, "includes <%.*s>, a system header that does I/O", (int)len, p + 1);
			return why;
		}
		return NULL;
	}
	if (*p != '"')
		return NULL;
	p++;
	size_t len = strcspn(p, "\"");
	const char *slash = memchr(p, '/', len);

	if (!slash) {
		snprintf(why, size, "includes \"%.*s\" without its layer (core/, io/, ...)", (int)len, p);
		return why;
	}
	if (!layer_named(p, slash - p)) {
		snprintf(why, size, "includes \"%.*s\" from outside the layers", (int)len, p);
		return why;
	}
	if (!word_in(l->may_include, p, slash - p)) {
		snprintf(why, size, "includes \"%.*s\": %s/ may include %s only", (int)len, p, l->name,
			 l->may_include);
		return why;
	}
	return NULL;
}

static void check_file(const struct layer *l, const char *path, const char *name, int *files)
{
	char line[1024], why[512];
	const char *broken = NULL;
	int lines = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		bail_out("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lines++;
		if (!broken)
			broken = broken_rule(l, line, why, sizeof(why));
	}
	fclose(f);
	(*files)++;
	ok(!broken, "agent/%s/%s keeps to its layer%s%s", l->name, name, broken ? ": " : "",
	   broken ? broken : "");
	ok(lines <= MAX_LINES, "agent/%s/%s has %d lines (at most %d)", l->name, name, lines, MAX_LINES);
}

static bool source(const char *name)
{
	size_t n = strlen(name);

	return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

static int count_file_lines(const char *path)
{
	char line[1024];
	int lines = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		bail_out("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		lines += strchr(line, '\n') != NULL;
	fclose(f);
	return lines;
}

static bool is_dir(const struct dirent *de, const char *rel)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return lstat(build_path(rel), &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every C file under @rel (in the source tree), its folders too. */
static void short_files(const char *rel, int *files)
{
	char path[8192], sub[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s", build_path(rel));
	d = opendir(path);
	if (!d)
		bail_out("%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		if (is_dir(de, sub)) {
			short_files(sub, files);
		} else if (source(de->d_name)) {
			int lines;

			snprintf(path, sizeof(path), "%s", build_path(sub));
			lines = count_file_lines(path);
			(*files)++;
			ok(lines <= MAX_LINES, "%s has %d lines (at most %d)", sub, lines, MAX_LINES);
		}
	}
	closedir(d);
}

int main(void)
{
	char dir[4096], path[8192];
	int files = 0;
	DIR *d;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "%s", build_path("agent"));
	d = opendir(dir);
	if (!d)
		bail_out("%s: %s", dir, strerror(errno));
	while ((de = readdir(d)))
		if (source(de->d_name))
			ok(false, "agent/%s is in no layer: move it to core/, io/, step/, daemon/ or cmd/",
			   de->d_name);
	closedir(d);

	for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
		int before = files;

		snprintf(path, sizeof(path), "%s/%s", dir, layers[i].name);
		d = opendir(path);
		if (!d)
			bail_out("%s: %s", path, strerror(errno));
		while ((de = readdir(d))) {
			if (!source(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", dir, layers[i].name, de->d_name);
			check_file(&layers[i], path, de->d_name, &files);
		}
		closedir(d);
		ok(files > before, "agent/%s/ has sources", layers[i].name);
	}

	files = 0;
	short_files("helpers", &files);
	ok(files > 0, "helpers/ has C files");
	files = 0;
	short_files("selftest", &files);
	ok(files > 0, "selftest/ has C files");

	/* The rules themselves: a line that breaks each is seen. */
	char why[512];

	ok(broken_rule(&layers[0], "#include \"io/store.h\"\n", why, sizeof(why)) != NULL,
	   "the check sees core/ including io/");
	ok(broken_rule(&layers[0], "#include <fcntl.h>\n", why, sizeof(why)) != NULL,
	   "the check sees core/ including <fcntl.h>");
	ok(broken_rule(&layers[0], "\tf = fopen(path, \"re\");\n", why, sizeof(why)) != NULL,
	   "the check sees core/ calling fopen()");
	ok(broken_rule(&layers[0], "\tx = my_open(a);\n", why, sizeof(why)) == NULL,
	   "and not a function whose name ends in one");
	ok(broken_rule(&layers[1], "\tf = fopen(path, \"re\");\n", why, sizeof(why)) == NULL,
	   "and lets io/ call it");
	ok(broken_rule(&layers[3], "#include \"cmd/cli.h\"\n", why, sizeof(why)) != NULL,
	   "the check sees daemon/ including cmd/");
	ok(broken_rule(&layers[4], "#include \"daemon/daemon.h\"\n", why, sizeof(why)) == NULL,
	   "and lets cmd/ include daemon/");
	return done_testing();
}
