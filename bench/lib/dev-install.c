/*
 * dev-install: the smallest installer on libtoride-device, for bench/device-vs-rauc.sh.
 *
 *   dev-install STATE_DIR TARGET BUNDLE
 *
 * Opens a device state directory provisioned by `toride-deviced provision` (the library's records;
 * the hardware target is given here, as a device's boot code knows it), installs BUNDLE into the
 * inactive slot with the automatic-update entry (toride_dev_update_begin_auto: no session) and
 * exits 0, or prints the library's error and exits 1. Only the public API of include/toride/device.h,
 * linked against libtoride-device.so and libsodium: what the library itself costs, without the
 * reference device's own code and libraries (libuv, curl, the telnet/HTTP front ends).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "toride/device.h"

static int
install_fd(struct toride_dev *dev, int fd, struct toride_dev_bundle_info *info)
{
	struct toride_dev_update *u = NULL;
	int r = toride_dev_update_begin_auto(dev, &u);
	if (r != 0)
		return r;
	r = toride_dev_update_feed_fd(u, fd);
	if (r != 0) {
		toride_dev_update_abort(u);
		return r;
	}
	return toride_dev_update_finish(u, info); /* finish releases the handle whatever it returns */
}

int
main(int argc, char **argv)
{
	struct toride_dev_vfs vfs;
	struct toride_dev *dev = NULL;
	struct toride_dev_options opt = { 0 };
	struct toride_dev_bundle_info info;
	int fd = -1, r, vfs_open = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: dev-install STATE_DIR TARGET BUNDLE\n");
		return 2;
	}
	opt.target = argv[2];
	r = toride_dev_vfs_posix_open(&vfs, argv[1]);
	if (r != 0)
		goto out;
	vfs_open = 1;
	r = toride_dev_open(&dev, &vfs, &opt);
	if (r != 0)
		goto out;
	fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? TORIDE_DEV_ENOENT : TORIDE_DEV_EIO;
		goto out;
	}
	r = install_fd(dev, fd, &info);
	if (r == 0)
		printf("installed %s (target %s)\n", info.version, info.target);
out:
	if (r != 0)
		fprintf(stderr, "dev-install: %s\n", toride_dev_strerror(r));
	if (fd >= 0)
		close(fd);
	if (dev != NULL)
		toride_dev_close(dev);
	if (vfs_open)
		toride_dev_vfs_posix_close(&vfs);
	return r == 0 ? 0 : 1;
}
