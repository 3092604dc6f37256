/* SPDX-License-Identifier: BSD-3-Clause */
/* sysctl through /proc/sys (net.* entries follow the caller's netns). */
#define LOG_TYPE "sysctl"
#include <agent_log.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kernel_side.h>

static int sysctl_path(const char *path, char *full, size_t len)
{
	int n;

	/* Relative and without "..": callers name an entry, not a file. */
	if (path[0] == '\0' || path[0] == '/' || strstr(path, "..") != NULL)
		return -EINVAL;
	n = snprintf(full, len, "/proc/sys/%s", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ks_sysctl_set(const char *path, const char *value)
{
	char full[PATH_MAX];
	size_t vlen = strlen(value);
	ssize_t n;
	int fd, ret;

	ret = sysctl_path(path, full, sizeof(full));
	if (ret < 0)
		goto err;
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	/* One write: sysctl handlers parse each write() as a whole value. */
	n = write(fd, value, vlen);
	ret = n < 0 ? -errno : (size_t)n != vlen ? -EIO : 0;
	close(fd);
	if (ret < 0)
		goto err;
	LOG(DEBUG, "%s = %s", path, value);
	return 0;
err:
	LOG(ERR, "cannot set sysctl %s to '%s': %s", path, value, strerror(-ret));
	return ret;
}

int ks_sysctl_get(const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	ssize_t n;
	int fd, ret;

	if (len == 0)
		return -EINVAL;
	ret = sysctl_path(path, full, sizeof(full));
	if (ret < 0)
		goto err;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	n = read(fd, buf, len - 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		goto err;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
err:
	LOG(ERR, "cannot read sysctl %s: %s", path, strerror(-ret));
	return ret;
}
