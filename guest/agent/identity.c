/* IDENTITY and TIME: hostname, machine id, DNS, env, SSH keys, entropy and the clock (the network part is in netlink.c). */
#include "agent.h"

/* ------------------------------------------------------------------------------------------ */
/* IDENTITY and TIME                                                                           */

static int set_clock_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    return clock_settime(CLOCK_REALTIME, &ts);
}

/* Reads a small text file; a missing file reads as "" (the caller creates it). */
static char *read_text_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? xstrdup("") : NULL;
    struct buf b = {0};
    for (;;) {
        unsigned char *p = buf_space(&b, 4096);
        ssize_t r = read(fd, p, 4096);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || b.len > (1u << 20)) {
            int e = r < 0 ? errno : EFBIG;
            close(fd);
            buf_free(&b);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
    }
    close(fd);
    *buf_space(&b, 1) = 0;
    return (char *)b.p;
}

/* Replaces path atomically (temp file + rename), owned by root with the given mode. */
static int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.boxd-tmp", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -1;
    int r = write_all(fd, data, len) < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, mode) < 0 ? -1 : 0;
    int e = errno;
    if (close(fd) < 0 && r == 0) {
        r = -1;
        e = errno;
    }
    if (r == 0 && rename(tmp, path) < 0) {
        r = -1;
        e = errno;
    }
    if (r < 0) {
        unlink(tmp);
        errno = e;
    }
    return r;
}

int fail_msg(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Starts argv without waiting for it: reap_children collects it (an unknown pid) when its
 * SIGCHLD arrives. */
static void spawn_detached(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        logmsg("fork for %s: %s", argv[0], strerror(errno));
    if (pid == 0) {
        child_reset_process();
        setsid();
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
}

static const char *find_exe(const char *const *candidates)
{
    for (; *candidates; candidates++)
        if (access(*candidates, X_OK) == 0)
            return *candidates;
    return NULL;
}

static int id_entropy(const char *hex, char *err, size_t n)
{
    size_t len = strlen(hex), bytes = len / 2;
    if (len == 0 || len % 2)
        return fail_msg(err, n, "entropy: invalid hex");
    struct rand_pool_info *info = xrealloc(NULL, sizeof *info + bytes + 4);
    unsigned char *b = (unsigned char *)info->buf;
    for (size_t i = 0; i < bytes; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(info);
            return fail_msg(err, n, "entropy: invalid hex");
        }
        b[i] = (unsigned char)v;
    }
    info->entropy_count = (int)(bytes * 8);
    info->buf_size = (int)bytes;
    int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
    int r = fd < 0 ? -1 : ioctl(fd, RNDADDENTROPY, info);
    int e = errno;
    free(info);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return fail_msg(err, n, "entropy: %s", errstr(e));
    }
    /* Make the new bytes count right away (Linux >= 4.17; older kernels lack the ioctl). */
    ioctl(fd, RNDRESEEDCRNG);
    close(fd);
    return 0;
}

/* /etc/hosts: one "127.0.1.1 <hostname>" line, in place of old ones or after 127.0.0.1. */
static int update_hosts(const char *host)
{
    char *old = read_text_file("/etc/hosts");
    if (!old)
        return -1;
    struct buf b = {0};
    char entry[128];
    int n = snprintf(entry, sizeof entry, "127.0.1.1\t%s\n", host), done = 0;
    for (char *line = old, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            next++;
        size_t ll = (size_t)(next - line);
        int is_ours = strncmp(line, "127.0.1.1", 9) == 0 && (line[9] == ' ' || line[9] == '\t');
        if (!is_ours)
            buf_append(&b, line, ll);
        if (ll && line[ll - 1] != '\n' && !is_ours)
            buf_append(&b, "\n", 1);
        if (!done && (is_ours || (strncmp(line, "127.0.0.1", 9) == 0 && isspace((unsigned char)line[9])))) {
            buf_append(&b, entry, (size_t)n);
            done = 1;
        }
    }
    if (!done)
        buf_append(&b, entry, (size_t)n);
    free(old);
    int r = write_file_atomic("/etc/hosts", (char *)buf_head(&b), b.len, 0644);
    buf_free(&b);
    return r;
}

static int id_hostname(const char *h, char *err, size_t n)
{
    char line[80];
    size_t len = strlen(h);
    if (len == 0 || len > 64 || strpbrk(h, " \t/"))
        return fail_msg(err, n, "hostname: invalid value: %s", h);
    if (sethostname(h, len) < 0)
        return fail_msg(err, n, "hostname: sethostname: %s", errstr(errno));
    snprintf(line, sizeof line, "%s\n", h);
    if (write_file_atomic("/etc/hostname", line, len + 1, 0644) < 0)
        return fail_msg(err, n, "hostname: %s: /etc/hostname", errstr(errno));
    if (update_hosts(h) < 0)
        return fail_msg(err, n, "hostname: %s: /etc/hosts", errstr(errno));
    return 0;
}

static int id_machine_id(const char *id, char *err, size_t n)
{
    char line[40];
    if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
        return fail_msg(err, n, "machine_id: invalid value (want 32 lower-case hex digits): %s", id);
    snprintf(line, sizeof line, "%s\n", id);
    if (write_file_atomic("/etc/machine-id", line, 33, 0444) < 0)
        return fail_msg(err, n, "machine_id: %s: /etc/machine-id", errstr(errno));
    return 0;
}

static int id_dns(const char *list, char *err, size_t n)
{
    struct buf b = {0};
    char *copy = xstrdup(list), *save = NULL;
    buf_append(&b, "# written by boxd-agent\n", 24);
    for (char *s = strtok_r(copy, ", \t;", &save); s; s = strtok_r(NULL, ", \t;", &save)) {
        buf_append(&b, "nameserver ", 11);
        buf_append(&b, s, strlen(s));
        buf_append(&b, "\n", 1);
    }
    free(copy);
    int r = write_file_atomic("/etc/resolv.conf", (char *)buf_head(&b), b.len, 0644);
    buf_free(&b);
    return r < 0 ? fail_msg(err, n, "dns: %s: /etc/resolv.conf", errstr(errno)) : 0;
}

/* /etc/boxd/env keeps unrelated lines and replaces ours. */
static int id_env(const struct map *m, char *err, size_t n)
{
    static const char *const keys[][2] = {
        {"vm_id", "BOXD_VM_ID"}, {"vm_name", "BOXD_VM_NAME"}, {"gateway", "BOXD_GATEWAY"}};
    if (mkdir("/etc/boxd", 0755) < 0 && errno != EEXIST)
        return fail_msg(err, n, "env: %s: /etc/boxd", errstr(errno));
    char *old = read_text_file("/etc/boxd/env");
    if (!old)
        return fail_msg(err, n, "env: %s: /etc/boxd/env", errstr(errno));
    struct buf b = {0};
    for (char *line = old, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            next++;
        int replaced = 0;
        for (size_t k = 0; k < 3; k++) {
            size_t kl = strlen(keys[k][1]);
            replaced |= map_get(m, keys[k][0]) && strncmp(line, keys[k][1], kl) == 0 && line[kl] == '=';
        }
        if (!replaced) {
            buf_append(&b, line, (size_t)(next - line));
            if (next > line && next[-1] != '\n')
                buf_append(&b, "\n", 1);
        }
    }
    for (size_t k = 0; k < 3; k++) {
        const char *v = map_get(m, keys[k][0]);
        if (!v)
            continue;
        buf_append(&b, keys[k][1], strlen(keys[k][1]));
        buf_append(&b, "=", 1);
        buf_append(&b, v, strlen(v));
        buf_append(&b, "\n", 1);
    }
    free(old);
    int r = write_file_atomic("/etc/boxd/env", (char *)buf_head(&b), b.len, 0644);
    buf_free(&b);
    return r < 0 ? fail_msg(err, n, "env: %s: /etc/boxd/env", errstr(errno)) : 0;
}

static int write_key_file(const char *path, const char *key, mode_t mode)
{
    size_t len = strlen(key);
    if (len && key[len - 1] == '\n')
        return write_file_atomic(path, key, len, mode);
    /* OpenSSH refuses key files without a final newline. */
    char *k = xrealloc(NULL, len + 2);
    memcpy(k, key, len);
    k[len] = '\n';
    int r = write_file_atomic(path, k, len + 1, mode);
    free(k);
    return r;
}

/* Is sshd up: its pid file names a live process called sshd?  sshd writes the pid file only
 * once its SIGHUP/SIGTERM handlers are set and its sockets listen. */
static int sshd_running(void)
{
    char *s = read_text_file(SSHD_PIDFILE), path[64];
    uint64_t pid;
    if (!s)
        return 0;
    s[strcspn(s, "\n")] = 0;
    int ok = parse_u64(s, 10, INT_MAX, &pid) == 0 && pid > 0;
    free(s);
    if (!ok)
        return 0;
    snprintf(path, sizeof path, "/proc/%llu/comm", (unsigned long long)pid);
    char *comm = read_text_file(path);
    ok = comm && strcmp(comm, "sshd\n") == 0;
    free(comm);
    return ok;
}

static int id_ssh(const char *priv, const char *pub, char *err, size_t n)
{
    if (mkdir("/etc/ssh", 0755) < 0 && errno != EEXIST)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh", errstr(errno));
    if (priv && write_key_file("/etc/ssh/ssh_host_ed25519_key", priv, 0600) < 0)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh/ssh_host_ed25519_key", errstr(errno));
    if (pub && write_key_file("/etc/ssh/ssh_host_ed25519_key.pub", pub, 0644) < 0)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh/ssh_host_ed25519_key.pub", errstr(errno));
    if (!priv)
        return 0;
    /* Every other host key (and a stale .pub/cert of the old ed25519 key) must go, or sshd
     * would keep presenting the template's keys, which every fork shares. */
    DIR *d = opendir("/etc/ssh");
    if (!d)
        return fail_msg(err, n, "ssh host key: %s: /etc/ssh", errstr(errno));
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        if (strncmp(nm, "ssh_host_", 9) != 0 || !strstr(nm + 9, "_key") ||
            strcmp(nm, "ssh_host_ed25519_key") == 0 ||
            (pub && strcmp(nm, "ssh_host_ed25519_key.pub") == 0))
            continue;
        if (unlinkat(dirfd(d), nm, 0) < 0 && errno != ENOENT) {
            int e2 = errno;
            closedir(d);
            return fail_msg(err, n, "ssh host key: %s: /etc/ssh/%s", errstr(e2), nm);
        }
    }
    closedir(d);
    /* sshd loads its host keys anew for every connection (each connection re-executes sshd;
     * OpenSSH 9.2 here), so a running or starting sshd serves the new key without a restart:
     * measured, a restart cost a VM ~0.3 s of guest CPU right when its first command runs.
     * sshd is only started when it is not running (after the reply: see run()); "start" does
     * nothing to an sshd that the path unit or boot is starting at this moment. */
    if (!sshd_running())
        g.start_sshd = 1;
    return 0;
}

/* systemctl is a process, and a process start costs the guest 40-100 ms under TCG, so it is
 * started after IDENTITY's reply and never waited for. */
void start_sshd(void)
{
    static const char *const systemctls[] = {"/usr/bin/systemctl", "/bin/systemctl", NULL};
    const char *sc = find_exe(systemctls);
    if (sc) {
        char *const argv[] = {(char *)sc, "--no-block", "start", "ssh.service", NULL};
        spawn_detached(argv);
    }
}

/* The platform's key for direct SSH into the VM (the gateway logs in as boxd with it), written
 * whole each time to a root-owned file that the image's sshd reads besides the user's own
 * ~/.ssh/authorized_keys (sshd_config.d/boxd.conf).  Keys the user adds are theirs: writing the
 * platform key into ~/.ssh/authorized_keys replaced them at every restore, fork and boot. */
#define PLATFORM_KEYS_DIR "/etc/boxd/authorized_keys"
static int id_authorized_keys(const char *keys, char *err, size_t n)
{
    if ((mkdir("/etc/boxd", 0755) < 0 && errno != EEXIST) ||
        (mkdir(PLATFORM_KEYS_DIR, 0755) < 0 && errno != EEXIST))
        return fail_msg(err, n, "authorized_keys: %s: %s", PLATFORM_KEYS_DIR, errstr(errno));
    if (write_key_file(PLATFORM_KEYS_DIR "/boxd", keys, 0644) < 0)
        return fail_msg(err, n, "authorized_keys: %s/boxd: %s", PLATFORM_KEYS_DIR, errstr(errno));
    return 0;
}

void handle_identity(uint32_t id, const unsigned char *p, size_t n)
{
    struct map m;
    char err[1024];
    int r = 0;
    if (map_parse(p, n, &m) < 0) {
        send_error(id, 0, "malformed IDENTITY payload");
        return;
    }
    for (size_t i = 0; i < m.n; i++) {
        if (strncmp(m.k[i], "host_key_", 9) != 0 && strchr(m.v[i], '\n')) {
            send_error(id, 0, "%s: invalid value (contains a newline)", m.k[i]);
            goto out;
        }
    }
    const char *v;
    uint64_t ns;
    /* Clock first, so every file below gets a sane mtime. */
    if ((v = map_get(&m, "time_ns"))) {
        if (parse_u64(v, 10, UINT64_MAX, &ns) < 0)
            r = fail_msg(err, sizeof err, "time_ns: invalid value: %s", v);
        else if (set_clock_ns(ns) < 0)
            r = fail_msg(err, sizeof err, "time_ns: clock_settime: %s", errstr(errno));
    }
    if (r == 0 && (v = map_get(&m, "entropy")))
        r = id_entropy(v, err, sizeof err);
    if (r == 0 && (v = map_get(&m, "hostname")))
        r = id_hostname(v, err, sizeof err);
    if (r == 0 && (v = map_get(&m, "machine_id")))
        r = id_machine_id(v, err, sizeof err);
    if (r == 0 && (v = map_get(&m, "dns")))
        r = id_dns(v, err, sizeof err);
    if (r == 0 && (map_get(&m, "mac") || map_get(&m, "ip") || map_get(&m, "gateway")))
        r = id_network(&m, err, sizeof err);
    if (r == 0 && (map_get(&m, "vm_id") || map_get(&m, "vm_name") || map_get(&m, "gateway")))
        r = id_env(&m, err, sizeof err);
    if (r == 0 && (map_get(&m, "host_key_ed25519") || map_get(&m, "host_key_ed25519_pub")))
        r = id_ssh(map_get(&m, "host_key_ed25519"), map_get(&m, "host_key_ed25519_pub"), err,
                   sizeof err);
    if (r == 0 && (v = map_get(&m, "authorized_keys")))
        r = id_authorized_keys(v, err, sizeof err);
    if (r < 0) {
        send_error(id, 0, "%s", err);
    } else {
        send_u64(R_DONE, id, 0);
        remember_closed(id);
    }
out:
    map_free(&m);
}

void handle_time(uint32_t id, const unsigned char *p, size_t n)
{
    if (n != 8)
        send_error(id, 0, "malformed TIME payload");
    else if (set_clock_ns(get_be64(p)) < 0)
        send_error(id, errno, "time: clock_settime: %s", errstr(errno));
    else {
        send_u64(R_DONE, id, 0);
        remember_closed(id);
    }
}
