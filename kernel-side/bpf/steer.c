/* SPDX-License-Identifier: BSD-3-Clause */
/* Loader of the steering programs: skeleton, map pinning/adoption, tc
 * attach/detach, map accessors. See include/steer.h and docs/steering.md. */
#define LOG_TYPE "steer"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <agent_log.h>
#include <steer.h>

#include "steer.skel.h"

_Static_assert(STEER_FAMILY_INET == AF_INET, "family values must match the kernel's");
_Static_assert(STEER_FAMILY_INET6 == AF_INET6, "family values must match the kernel's");

struct steer {
	struct steer_bpf *skel;
	char pin_dir[PATH_MAX];
};

static const char *const counter_names[STEER_CNT_MAX] = {
    [STEER_CNT_VM_REDIRECTED] = "vm_redirected",
    [STEER_CNT_VM_PASS_NOT_GATEWAY] = "vm_pass_not_gateway",
    [STEER_CNT_VM_PASS_LOCAL] = "vm_pass_local",
    [STEER_CNT_VM_PASS_NON_IP] = "vm_pass_non_ip",
    [STEER_CNT_VM_PASS_MODE] = "vm_pass_mode",
    [STEER_CNT_VM_PASS_OTHER] = "vm_pass_other",
    [STEER_CNT_VM_PASS_MTU] = "vm_pass_mtu",
    [STEER_CNT_EXC_REDIRECTED] = "exc_redirected",
    [STEER_CNT_EXC_PASS_UNKNOWN_MAC] = "exc_pass_unknown_mac",
    [STEER_CNT_EXC_PASS_MODE] = "exc_pass_mode",
    [STEER_CNT_EXC_TO_BRIDGE] = "exc_to_bridge",
    [STEER_CNT_EXC_PASS_NOT_ROUTED] = "exc_pass_not_routed",
    [STEER_CNT_EXC_PASS_MTU] = "exc_pass_mtu",
};

const char *steer_counter_name(enum steer_counter c)
{
	if ((unsigned)c >= STEER_CNT_MAX)
		return NULL;
	return counter_names[c];
}

const char *steer_prog_name(enum steer_prog prog)
{
	switch (prog) {
	case STEER_PROG_VM_INGRESS:
		return "steer_vm_ingress";
	case STEER_PROG_EXC_INGRESS:
		return "steer_exc_ingress";
	default:
		return NULL;
	}
}

static struct bpf_program *prog_of(const struct steer *s, enum steer_prog prog)
{
	switch (prog) {
	case STEER_PROG_VM_INGRESS:
		return s->skel->progs.steer_vm_ingress;
	case STEER_PROG_EXC_INGRESS:
		return s->skel->progs.steer_exc_ingress;
	default:
		return NULL;
	}
}

/* Set around netlink calls whose failure is an expected answer (clsact
 * already there, no filter to remove): libbpf reports the kernel's extack
 * message for those as a warning, which would only be noise. */
static _Thread_local bool netlink_quiet;

/* libbpf's messages (verifier log included) go to our log, not raw stderr. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (level == LIBBPF_WARN && !(netlink_quiet && strstr(msg, "Kernel error message")))
		LOG(WARNING, "%s", msg);
	else
		LOG(DEBUG, "%s", msg);
	return 0;
}

static void libbpf_log_init(void)
{
	libbpf_set_print(libbpf_print);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int steer_bpffs_ensure(const char *path)
{
	struct statfs st;
	int ret;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	if (statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	ret = mkdir_p(path, 0700);
	if (ret < 0) {
		LOG(ERR, "cannot create bpffs mount point %s: %s", path, strerror(-ret));
		return ret;
	}
	if (mount("bpf", path, "bpf", 0, "mode=0700") < 0) {
		ret = -errno;
		LOG(ERR, "cannot mount bpffs on %s: %s", path, strerror(-ret));
		return ret;
	}
	LOG(INFO, "mounted bpffs on %s", path);
	return 0;
}

/* A pinned map from an older build whose layout differs cannot be reused
 * (libbpf would refuse to load): drop the pin so a new map is created. */
static int pinned_map_check(struct bpf_map *map)
{
	const char *path = bpf_map__pin_path(map);
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd, ret;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (ret < 0)
		return ret;
	if (info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries == bpf_map__max_entries(map) &&
	    info.map_flags == bpf_map__map_flags(map))
		return 0;
	LOG(WARNING, "pinned map %s has another layout, replacing it (its entries are lost)", path);
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

static int prog_pin(struct steer *s, struct bpf_program *prog)
{
	char path[PATH_MAX];
	int ret;

	ret = snprintf(path, sizeof(path), "%s/%s", s->pin_dir, bpf_program__name(prog));
	if (ret < 0 || ret >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* The previous agentd's program: stays attached until steer_attach
	 * replaces it, but the pin now names the current one. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return bpf_program__pin(prog, path);
}

int steer_open(const char *bpffs, const char *pin_name, struct steer **out)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	struct steer *s;
	int ret;

	*out = NULL;
	if (bpffs == NULL || pin_name == NULL || pin_name[0] == '\0' || strchr(pin_name, '/') ||
	    strcmp(pin_name, ".") == 0 || strcmp(pin_name, "..") == 0)
		return -EINVAL;
	libbpf_log_init();

	ret = steer_bpffs_ensure(bpffs);
	if (ret < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	ret = snprintf(s->pin_dir, sizeof(s->pin_dir), "%s/%s", bpffs, pin_name);
	if (ret < 0 || ret >= (int)sizeof(s->pin_dir)) {
		ret = -ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(s->pin_dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		LOG(ERR, "cannot create %s: %s", s->pin_dir, strerror(-ret));
		goto fail;
	}

	s->skel = steer_bpf__open();
	if (s->skel == NULL) {
		ret = -errno;
		LOG(ERR, "cannot open the steering BPF object: %s", strerror(-ret));
		goto fail;
	}
	bpf_object__for_each_map(map, s->skel->obj)
	{
		char path[PATH_MAX];

		ret = snprintf(path, sizeof(path), "%s/%s", s->pin_dir, bpf_map__name(map));
		if (ret < 0 || ret >= (int)sizeof(path)) {
			ret = -ENAMETOOLONG;
			goto fail;
		}
		/* With a pin path set, libbpf's load reuses the pinned map if
		 * there is one and pins the new map otherwise. */
		ret = bpf_map__set_pin_path(map, path);
		if (ret == 0)
			ret = pinned_map_check(map);
		if (ret < 0) {
			LOG(ERR, "map %s: %s", path, strerror(-ret));
			goto fail;
		}
	}
	ret = steer_bpf__load(s->skel);
	if (ret < 0) {
		LOG(ERR, "cannot load the steering BPF programs: %s", strerror(-ret));
		goto fail;
	}
	bpf_object__for_each_program(prog, s->skel->obj)
	{
		ret = prog_pin(s, prog);
		if (ret < 0) {
			LOG(ERR, "cannot pin program %s in %s: %s", bpf_program__name(prog),
			    s->pin_dir, strerror(-ret));
			goto fail;
		}
	}
	LOG(INFO, "steering programs loaded, maps pinned in %s", s->pin_dir);
	*out = s;
	return 0;
fail:
	steer_close(s);
	return ret;
}

void steer_close(struct steer *s)
{
	if (s == NULL)
		return;
	steer_bpf__destroy(s->skel);
	free(s);
}

const char *steer_pin_dir(const struct steer *s)
{
	return s->pin_dir;
}

int steer_unpin(const char *bpffs, const char *pin_name)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	if (bpffs == NULL || pin_name == NULL || pin_name[0] == '\0' || strchr(pin_name, '/'))
		return -EINVAL;
	if (snprintf(dir, sizeof(dir), "%s/%s", bpffs, pin_name) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && errno != ENOENT && ret == 0)
			ret = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT && ret == 0)
		ret = -errno;
	if (ret < 0)
		LOG(ERR, "cannot remove pins in %s: %s", dir, strerror(-ret));
	return ret;
}

uint32_t steer_prog_id(const struct steer *s, enum steer_prog prog)
{
	struct bpf_program *p = prog_of(s, prog);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	if (p == NULL)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) < 0)
		return 0;
	return info.id;
}

int steer_prog_fd(const struct steer *s, enum steer_prog prog)
{
	struct bpf_program *p = prog_of(s, prog);

	return p ? bpf_program__fd(p) : -EINVAL;
}

int steer_attach(struct steer *s, enum steer_prog prog, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = STEER_TC_HANDLE, .priority = STEER_TC_PRIORITY,
		    .flags = BPF_TC_F_REPLACE);
	int ret;

	if (prog_of(s, prog) == NULL || ifindex <= 0)
		return -EINVAL;
	opts.prog_fd = steer_prog_fd(s, prog);
	libbpf_log_init();
	netlink_quiet = true;
	ret = bpf_tc_hook_create(&hook);
	netlink_quiet = false;
	if (ret < 0 && ret != -EEXIST) {
		LOG(ERR, "ifindex %d: cannot create clsact qdisc: %s", ifindex, strerror(-ret));
		return ret;
	}
	ret = bpf_tc_attach(&hook, &opts);
	if (ret < 0) {
		LOG(ERR, "ifindex %d: cannot attach %s on tc ingress: %s", ifindex,
		    steer_prog_name(prog), strerror(-ret));
		return ret;
	}
	LOG(DEBUG, "ifindex %d: %s attached (prog id %u)", ifindex, steer_prog_name(prog),
	    opts.prog_id);
	return 0;
}

int steer_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = STEER_TC_HANDLE, .priority = STEER_TC_PRIORITY);
	int ret;

	if (ifindex <= 0)
		return -EINVAL;
	libbpf_log_init();
	netlink_quiet = true;
	ret = bpf_tc_detach(&hook, &opts);
	netlink_quiet = false;
	/* ENOENT: no such filter; EINVAL: no clsact qdisc on the link. */
	if (ret == -ENOENT || ret == -EINVAL)
		return 0;
	if (ret < 0)
		LOG(ERR, "ifindex %d: cannot detach tc ingress filter: %s", ifindex,
		    strerror(-ret));
	return ret;
}

int steer_attached(int ifindex, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = STEER_TC_HANDLE, .priority = STEER_TC_PRIORITY);
	int ret;

	if (ifindex <= 0)
		return -EINVAL;
	libbpf_log_init();
	netlink_quiet = true;
	ret = bpf_tc_query(&hook, &opts);
	netlink_quiet = false;
	if (ret == -ENOENT || ret == -EINVAL)
		return 0;
	if (ret < 0)
		return ret;
	if (prog_id)
		*prog_id = opts.prog_id;
	return 1;
}

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

int steer_settings_get(struct steer *s, struct steer_settings *out)
{
	__u32 key = 0;
	int ret;

	ret = bpf_map_lookup_elem(map_fd(s->skel->maps.settings), &key, out);
	if (ret < 0)
		LOG(ERR, "cannot read steering settings: %s", strerror(-ret));
	return ret;
}

int steer_settings_set(struct steer *s, const struct steer_settings *in)
{
	struct steer_settings v = *in;
	__u32 key = 0;
	int ret;

	if (v.mode != STEER_MODE_PASS && v.mode != STEER_MODE_FAST)
		return -EINVAL;
	memset(v.pad, 0, sizeof(v.pad));
	ret = bpf_map_update_elem(map_fd(s->skel->maps.settings), &key, &v, BPF_ANY);
	if (ret < 0)
		LOG(ERR, "cannot write steering settings: %s", strerror(-ret));
	return ret;
}

int steer_set_mode(struct steer *s, enum steer_mode mode)
{
	struct steer_settings v;
	int ret;

	if (mode != STEER_MODE_PASS && mode != STEER_MODE_FAST)
		return -EINVAL;
	ret = steer_settings_get(s, &v);
	if (ret < 0)
		return ret;
	v.mode = mode;
	ret = steer_settings_set(s, &v);
	if (ret == 0)
		LOG(INFO, "steering mode %s", mode == STEER_MODE_FAST ? "fast" : "pass");
	return ret;
}

static int addr_key(struct steer_addr_key *key, int family, const void *addr)
{
	memset(key, 0, sizeof(*key));
	if (addr == NULL)
		return -EINVAL;
	if (family == AF_INET)
		memcpy(key->addr, addr, 4);
	else if (family == AF_INET6)
		memcpy(key->addr, addr, 16);
	else
		return -EAFNOSUPPORT;
	key->family = family;
	return 0;
}

int steer_local_addr_add(struct steer *s, int family, const void *addr)
{
	struct steer_addr_key key;
	__u8 one = 1;
	int ret;

	ret = addr_key(&key, family, addr);
	if (ret < 0)
		return ret;
	ret = bpf_map_update_elem(map_fd(s->skel->maps.local_addrs), &key, &one, BPF_ANY);
	if (ret < 0)
		LOG(ERR, "cannot add local address to steering map: %s", strerror(-ret));
	return ret;
}

int steer_local_addr_del(struct steer *s, int family, const void *addr)
{
	struct steer_addr_key key;
	int ret;

	ret = addr_key(&key, family, addr);
	if (ret < 0)
		return ret;
	ret = bpf_map_delete_elem(map_fd(s->skel->maps.local_addrs), &key);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		LOG(ERR, "cannot delete local address from steering map: %s", strerror(-ret));
	return ret;
}

int steer_local_addr_has(struct steer *s, int family, const void *addr)
{
	struct steer_addr_key key;
	__u8 v;
	int ret;

	ret = addr_key(&key, family, addr);
	if (ret < 0)
		return ret;
	ret = bpf_map_lookup_elem(map_fd(s->skel->maps.local_addrs), &key, &v);
	return ret == 0 ? 1 : ret == -ENOENT ? 0 : ret;
}

int steer_local_addr_list(struct steer *s, struct steer_addr_key *out, int max)
{
	int fd = map_fd(s->skel->maps.local_addrs);
	struct steer_addr_key key, next;
	void *prev = NULL;
	int n = 0, ret;

	while ((ret = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		if (n < max)
			out[n] = next;
		n++;
		key = next;
		prev = &key;
	}
	return ret == -ENOENT ? n : ret;
}

int steer_vm_mac_add(struct steer *s, const uint8_t mac[6], int ifindex)
{
	struct steer_vm_port port = {.ifindex = ifindex};
	struct steer_mac_key key;
	int ret;

	if (ifindex <= 0)
		return -EINVAL;
	memcpy(key.addr, mac, sizeof(key.addr));
	ret = bpf_map_update_elem(map_fd(s->skel->maps.vm_macs), &key, &port, BPF_ANY);
	if (ret < 0)
		LOG(ERR, "cannot add VM MAC %02x:%02x:%02x:%02x:%02x:%02x: %s", mac[0], mac[1],
		    mac[2], mac[3], mac[4], mac[5], strerror(-ret));
	return ret;
}

int steer_vm_mac_del(struct steer *s, const uint8_t mac[6])
{
	struct steer_mac_key key;
	int ret;

	memcpy(key.addr, mac, sizeof(key.addr));
	ret = bpf_map_delete_elem(map_fd(s->skel->maps.vm_macs), &key);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		LOG(ERR, "cannot delete VM MAC %02x:%02x:%02x:%02x:%02x:%02x: %s", mac[0], mac[1],
		    mac[2], mac[3], mac[4], mac[5], strerror(-ret));
	return ret;
}

int steer_vm_mac_lookup(struct steer *s, const uint8_t mac[6], int *ifindex)
{
	struct steer_mac_key key;
	struct steer_vm_port port;
	int ret;

	memcpy(key.addr, mac, 6);
	ret = bpf_map_lookup_elem(map_fd(s->skel->maps.vm_macs), &key, &port);
	*ifindex = ret == 0 ? (int)port.ifindex : 0;
	return ret == 0 ? 1 : ret == -ENOENT ? 0 : ret;
}

int steer_vm_mac_list(struct steer *s, struct steer_vm_mac *out, int max)
{
	int fd = map_fd(s->skel->maps.vm_macs);
	struct steer_mac_key key, next;
	struct steer_vm_port port;
	void *prev = NULL;
	int n = 0, ret;

	while ((ret = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		/* An entry deleted meanwhile is simply skipped. */
		if (bpf_map_lookup_elem(fd, &next, &port) == 0) {
			if (n < max) {
				memcpy(out[n].mac, next.addr, 6);
				out[n].ifindex = port.ifindex;
			}
			n++;
		}
		key = next;
		prev = &key;
	}
	return ret == -ENOENT ? n : ret;
}

int steer_counters_read(struct steer *s, struct steer_counter_value out[STEER_CNT_MAX])
{
	int fd = map_fd(s->skel->maps.counters);
	int ncpus = libbpf_num_possible_cpus();
	struct steer_counter_value *percpu;
	int ret = 0;

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (percpu == NULL)
		return -ENOMEM;
	for (__u32 i = 0; i < STEER_CNT_MAX; i++) {
		ret = bpf_map_lookup_elem(fd, &i, percpu);
		if (ret < 0) {
			LOG(ERR, "cannot read steering counter %s: %s", counter_names[i],
			    strerror(-ret));
			break;
		}
		out[i].packets = out[i].bytes = 0;
		for (int c = 0; c < ncpus; c++) {
			out[i].packets += percpu[c].packets;
			out[i].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return ret;
}
