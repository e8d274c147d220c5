/*
 * boxd-agent: the guest side of the boxd agent protocol (docs/agent-protocol.md).
 * What every part shares: the protocol constants, the buffer, user, map and channel types, the
 * global state and the functions one part calls in another.  main.c says how the agent works.
 */
#ifndef BOXD_AGENT_H
#define BOXD_AGENT_H

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION "1.0.0"
#define DEFAULT_DEVICE "/dev/virtio-ports/boxd.agent"

/* ------------------------------------------------------------------------------------------ */
/* Protocol constants                                                                          */

enum {
    T_HELLO = 0x01, T_EXEC = 0x02, T_DATA = 0x03, T_RESIZE = 0x04, T_SIGNAL = 0x05,
    T_PUT = 0x06, T_GET = 0x07, T_IDENTITY = 0x08, T_TIME = 0x09,
    R_OUT = 0x80, R_HELLO = 0x81, R_STARTED = 0x82, R_META = 0x83, R_DONE = 0x84,
    R_ERR = 0x85, R_EXIT = 0x86, R_ACK = 0x87, R_ERROR = 0x8F,
};

#define HDR_LEN 9                       /* u32 length + u8 type + u32 channel */
#define MAX_PAYLOAD 65536
#define NONCE_LEN 16
#define SYNC_MAGIC "BXSYNC\r\n"

#define OUT_HIGH_WATER (512u * 1024)    /* stop reading bulk producers above this much unsent */
#define MAX_STDIN_QUEUE (8u << 20)      /* the host may have 1 MiB in flight; far more = host bug */
#define MAX_SKIPPED_FRAME (16u << 20)   /* an oversized frame up to this is skipped, not fatal */
#define CLOSED_RING 1024                /* remembered ids of finished channels (see is_closed) */
#define TIMEOUT_GRACE_MS 500            /* after timeout_ms: how long to wait for pipe EOF */
#define DISCONNECTED_FAST_MS 10         /* virtio re-poll period right after the host closed */
#define DISCONNECTED_SLOW_MS 100        /* ... after DISCONNECTED_FAST_FOR_MS of waiting */
#define DISCONNECTED_FAST_FOR_MS 1000
#define NETLINK_TIMEOUT_MS 2000         /* an rtnetlink answer; the kernel replies at once */
#define SSHD_PIDFILE "/run/sshd.pid"
/* guest/image enables this path unit: systemd starts ssh.service once the host key exists. */
#define MAX_GROUPS 256

/* Byte buffers (util.c): valid bytes are p[off, off+len). */
struct buf {
    unsigned char *p;
    size_t off, len, cap;
};

/* A user as parsed from /etc/passwd and /etc/group (util.c). */
struct user {
    char name[256];
    uid_t uid;
    gid_t gid;
    char home[PATH_MAX];
    char shell[PATH_MAX];
    int ngroups;
    gid_t groups[MAX_GROUPS];
};

/* A map payload, key NUL value NUL ... (util.c); the strings point into the frame. */
struct map {
    size_t n;
    const char **k, **v;
};

/* One request in flight (channel.c); EXEC fields for exec.c, PUT/GET fields for files.c. */
enum kind { K_EXEC, K_PUT, K_GET };

struct channel {
    uint32_t id;
    enum kind kind;
    int dead;                 /* closed; freed at the end of this loop iteration */
    struct channel *next_dead;

    /* EXEC */
    pid_t pid;
    int tty;
    int errp;                 /* CLOEXEC pipe: the child's setup error, or EOF once it exec'd */
    int started;              /* STARTED sent */
    int reaped, status;
    int timed_out;
    uint64_t deadline;        /* timeout_ms, monotonic; 0 = none */
    uint64_t grace;           /* after a timeout: give up waiting for pipe EOF at this time */
    int in_fd;                /* stdin pipe (write end); -1 for a tty (use master) */
    int out_fd, err_fd;       /* stdout/stderr pipes (read ends) */
    int master;               /* PTY master (tty=1): stdin and all output */
    struct buf inq;           /* stdin bytes not yet written */
    int in_eof;               /* the host sent empty DATA */
    int in_closed;            /* stdin finished: further DATA is ACKed and dropped */
    int veof_left;            /* tty: VEOF characters still to write */
    unsigned char veof;
    int at_line_start;        /* tty: last byte written ended a line */

    /* PUT / GET */
    int fd;
    char *path, *tmp;
    mode_t mode;
    struct user *user;        /* PUT: whose rights the final rename uses */
    uint64_t bytes;
};

/* A growable NULL-terminated string vector (env.c): argv and envp of an EXEC. */
struct strv {
    char **v;
    size_t n, cap;
};

/* The agent's one global state (defined in main.c): the host connection and its channels. */
struct agent_state {
    const char *device, *unix_path;
    int port;                 /* host connection: virtio port or accepted socket; -1 = none */
    int listen_fd;            /* --unix */
    int sig_fd;               /* SIGCHLD, SIGIO */
    int connected;            /* the host side is open */
    int synced;               /* a HELLO arrived on this connection: frames are parsed */
    uint32_t skip;            /* bytes still to discard of a refused oversized frame */
    uint64_t disconnected_at;
    struct buf in, out;
    struct channel **chans;
    size_t nchans, capchans;
    struct channel *graveyard;
    uint32_t closed[CLOSED_RING];
    size_t nclosed, closed_pos;
    int reap_pending;
    int start_sshd;           /* an IDENTITY wrote a host key and sshd is not running */
    gid_t root_groups[MAX_GROUPS];
    int root_ngroups;
    struct rlimit nofile;     /* the limit we inherited, restored in children */
};

/* ERROR is terminal for a channel, so a live channel is torn down with it. */
#define fail_channel(c, err, ...)               \
    do {                                        \
        send_error((c)->id, (err), __VA_ARGS__);\
        close_channel((c), 1);                  \
    } while (0)

extern int verbose;
extern struct agent_state g;

/* util.c */
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
uint64_t now_ms(void);
uint32_t get_be32(const unsigned char *p);
uint64_t get_be64(const unsigned char *p);
void put_be32(unsigned char *p, uint32_t v);
void put_be64(unsigned char *p, uint64_t v);
const char *errstr(int e);
void xclose(int *fd);
int set_nonblock(int fd);
int parse_u64(const char *s, int base, uint64_t max, uint64_t *out);
int write_all(int fd, const void *p, size_t n);
unsigned char *buf_head(struct buf *b);
unsigned char *buf_space(struct buf *b, size_t need);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_free(struct buf *b);
void buf_consume(struct buf *b, size_t n);
int lookup_user(const char *name, struct user *u);
void map_free(struct map *m);
int map_parse(const unsigned char *p, size_t len, struct map *m);
const char *map_get(const struct map *m, const char *key);

/* channel.c */
struct channel *find_channel(uint32_t id);
int is_closed(uint32_t id);
void remember_closed(uint32_t id);
struct channel *new_channel(uint32_t id, enum kind kind);
void kill_group(struct channel *c, int sig);
void close_channel(struct channel *c, int abort);
void free_graveyard(void);
void discard_all_channels(void);
void send_frame2(uint8_t type, uint32_t chan, const void *a, size_t alen, const void *b,
                        size_t blen);
void send_frame(uint8_t type, uint32_t chan, const void *p, size_t n);
void send_u32(uint8_t type, uint32_t chan, uint32_t v);
void send_u64(uint8_t type, uint32_t chan, uint64_t v);
void send_error(uint32_t chan, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
ssize_t read_into_frame(int fd, uint8_t type, uint32_t chan);
void set_async(int on);
void host_gone(const char *why);
void check_reconnected(void);
void flush_out(void);
void protocol_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* env.c */
void strv_free(struct strv *s);
int build_env(struct strv *e, const struct user *u, const struct map *m, const char *term,
                     const char **bad);

/* exec.c */
void child_reset_process(void);
void handle_exec(uint32_t id, const unsigned char *p, size_t n);
int exec_output_open(const struct channel *c);
void exec_write_stdin(struct channel *c);
void exec_data(struct channel *c, const unsigned char *p, size_t n);
void exec_errpipe_ready(struct channel *c);
void exec_read_output(struct channel *c, int *fd, uint8_t type);
void exec_resize(struct channel *c, const unsigned char *p, size_t n);
void exec_signal(struct channel *c, const unsigned char *p, size_t n);
void reap_children(void);
void exec_timers(uint64_t now);

/* files.c */
void handle_put(uint32_t id, const unsigned char *p, size_t n);
void put_data(struct channel *c, const unsigned char *p, size_t n);
void handle_get(uint32_t id, const unsigned char *p, size_t n);
void get_pump(struct channel *c);

/* identity.c */
int fail_msg(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void start_sshd(void);
void handle_identity(uint32_t id, const unsigned char *p, size_t n);
void handle_time(uint32_t id, const unsigned char *p, size_t n);

/* netlink.c */
int id_network(const struct map *m, char *err, size_t n);

/* loop.c */
void run(void);

#endif
