/*
 * boxd-agent: the guest side of the boxd agent protocol (docs/agent-protocol.md).
 *
 * It runs as root inside every VM and serves the host over one virtio-serial port
 * (default /dev/virtio-ports/boxd.agent).  With --unix PATH it instead *listens* on a Unix
 * socket and serves one client at a time, which is how it is tested on a developer machine.
 *
 * Design, in short:
 *  - One thread, one poll() loop, every fd non-blocking.  VMs run under TCG, so the loop must
 *    sleep in poll() whenever there is nothing to do: an idle agent costs no CPU.
 *  - Everything bound for the host goes through one output queue (g.out).  Producers of bulk
 *    data (children's stdout/stderr, GET files) are only read while that queue is below
 *    OUT_HIGH_WATER, so a slow host throttles the children instead of growing our memory.
 *  - Host->guest DATA is written to the child/file and then ACKed; a child that does not read
 *    its stdin only stops its own channel (the host holds at most 1 MiB unacknowledged).
 *  - Users are looked up by parsing /etc/passwd and /etc/group directly: static glibc's
 *    getpwnam() needs the NSS shared libraries of the exact glibc we were linked against.
 *  - PUT/GET touch the filesystem with the fsuid/fsgid and groups of the requested user
 *    (setfsuid drops CAP_DAC_OVERRIDE & co.), so user "boxd" cannot write root's files.
 *
 * The parts: agent.h (what they share), util.c (helpers, buffers, users, maps), channel.c
 * (channels, sending frames, the host connection), loop.c (frame dispatch, the poll loop),
 * exec.c and env.c (EXEC), files.c (PUT, GET), identity.c (IDENTITY, TIME), netlink.c (the
 * network part of IDENTITY) and main.c (startup).  build.sh compiles them into one static binary.
 */
#include "agent.h"

struct agent_state g = {.port = -1, .listen_fd = -1, .sig_fd = -1};

/* ------------------------------------------------------------------------------------------ */
/* Startup                                                                                     */

static int open_unix_listener(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    if (strlen(path) >= sizeof sa.sun_path) {
        logmsg("socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);   /* stale socket of an earlier run */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        logmsg("cannot listen on %s: %s", path, strerror(errno));
        return -1;
    }
    return fd;
}

/* The port may not be there yet, or still be held by a previous instance (EBUSY). */
static int open_device(const char *path)
{
    for (int logged = 0;; logged = 1) {
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
            fcntl(fd, F_SETOWN, getpid());   /* SIGIO target, see set_async() */
            return fd;
        }
        if (!logged)
            logmsg("cannot open %s: %s; retrying", path, strerror(errno));
        sleep(1);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: boxd-agent [--device PATH | --unix PATH] [--verbose]\n"
            "  --device PATH  serve the host over this virtio-serial port (default %s)\n"
            "  --unix PATH    instead listen on a Unix socket, one client at a time (testing)\n"
            "  --verbose      log every channel\n",
            DEFAULT_DEVICE);
}

int main(int argc, char **argv)
{
    g.device = DEFAULT_DEVICE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            g.device = argv[++i];
        } else if (strcmp(argv[i], "--unix") == 0 && i + 1 < argc) {
            g.unix_path = argv[++i];
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("boxd-agent %s\n", AGENT_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    /* Buffers of 128 KiB and more (stdin queues, bursts of output) are mmap'd and go back to
     * the kernel when freed; glibc's adaptive threshold would keep them on the heap for good. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    umask(022);
    if (chdir("/") < 0)
        return 1;
    /* fds 0-2 must exist, or a pipe could land there and be clobbered by dup2 in a child. */
    for (int fd; (fd = open("/dev/null", O_RDWR)) >= 0;) {
        if (fd > 2) {
            close(fd);
            break;
        }
    }
    signal(SIGPIPE, SIG_IGN);   /* EPIPE from a child's stdin is handled where it happens */

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGIO);
    sigprocmask(SIG_BLOCK, &set, NULL);
    g.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g.sig_fd < 0) {
        logmsg("signalfd: %s", strerror(errno));
        return 1;
    }

    /* 64+ concurrent EXECs need 4 fds each; children get the original limit back. */
    getrlimit(RLIMIT_NOFILE, &g.nofile);
    struct rlimit more = g.nofile;
    more.rlim_cur = more.rlim_max < 65536 ? more.rlim_max : 65536;
    if (more.rlim_cur > g.nofile.rlim_cur)
        setrlimit(RLIMIT_NOFILE, &more);

    g.root_ngroups = getgroups(MAX_GROUPS, g.root_groups);
    if (g.root_ngroups < 0)
        g.root_ngroups = 0;

    if (g.unix_path) {
        if ((g.listen_fd = open_unix_listener(g.unix_path)) < 0)
            return 1;
        logmsg("version %s listening on %s", AGENT_VERSION, g.unix_path);
    } else {
        g.port = open_device(g.device);
        g.connected = 0;
        g.disconnected_at = now_ms();
        set_async(1);
        logmsg("version %s serving %s", AGENT_VERSION, g.device);
    }
    run();
    return 0;
}
