// SPDX-License-Identifier: MIT
/*
 * mkagent-pin-file - the PIN helper of mkagent.conf(5) that reads PINs from
 * files: `mkagent-pin-file [--dir DIR] LABEL` prints the first line of
 * DIR/LABEL (default /etc/mkagent/pins), or of $CREDENTIALS_DIRECTORY/LABEL
 * when systemd's LoadCredential=/LoadCredentialEncrypted= provides it.
 * DIR must be root's and mode 0700, the file root's and 0600 at most, and
 * neither a symlink: anything looser is refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DIR "/etc/mkagent/pins"
#define PIN_MAX 128

static int refuse(const char *fmt, const char *arg)
{
	fprintf(stderr, "mkagent-pin-file: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static int check(int fd, const char *path, bool dir, mode_t allowed)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return refuse("cannot stat %s", path);
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return refuse(dir ? "%s is not a directory" : "%s is not a regular file", path);
	if (st.st_uid != geteuid())
		return refuse("%s is not owned by the user mkagent runs as", path);
	if (st.st_mode & 07777 & ~allowed)
		return refuse(dir ? "%s must be mode 0700 or stricter" : "%s must be mode 0600 or stricter",
			      path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = DEFAULT_DIR, *label, *creds = getenv("CREDENTIALS_DIRECTORY");
	char pin[PIN_MAX + 2];
	int dfd, fd;
	ssize_t n;

	if (argc == 4 && strcmp(argv[1], "--dir") == 0) {
		dir = argv[2];
		label = argv[3];
	} else if (argc == 2) {
		label = argv[1];
	} else {
		fprintf(stderr, "usage: mkagent-pin-file [--dir DIR] LABEL\n");
		return 2;
	}
	if (!*label || label[0] == '.' || strchr(label, '/'))
		return refuse("'%s' cannot name a file", label);
	if (creds && *creds) {
		dfd = open(creds, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fd = dfd < 0 ? -1 : openat(dfd, label, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			dir = creds;
			goto read_pin;
		}
		if (dfd >= 0)
			close(dfd);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return refuse(errno == ENOTDIR || errno == ELOOP ? "%s is not a directory (a symlink?)" :
								   "cannot open %s",
			      dir);
	if (check(dfd, dir, true, 0700))
		return 1;
	fd = openat(dfd, label, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return refuse(errno == ELOOP ? "the PIN file of %s is a symlink" : "no PIN file for %s", label);
	if (check(fd, label, false, 0600))
		return 1;
read_pin:
	n = read(fd, pin, sizeof(pin) - 1);
	close(fd);
	close(dfd);
	if (n <= 0)
		return refuse("the PIN file of %s is empty", label);
	pin[n] = '\0';
	pin[strcspn(pin, "\n")] = '\0';
	if (!pin[0] || strlen(pin) > PIN_MAX - 1)
		return refuse("the PIN file of %s has no PIN on its first line", label);
	printf("%s\n", pin);
	fflush(stdout);
	memset(pin, 0, sizeof(pin));
	(void)dir;
	return 0;
}
