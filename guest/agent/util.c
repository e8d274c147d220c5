/* Small helpers, byte buffers, users from /etc/passwd and /etc/group, and map payloads. */
#include "agent.h"

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */

int verbose;

void logmsg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line keeps lines whole in the journal. */
    dprintf(2, "boxd-agent: %s\n", line);
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        /* Nothing sensible to do; systemd restarts us (Restart=always). */
        logmsg("out of memory");
        abort();
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t get_be64(const unsigned char *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

void put_be64(unsigned char *p, uint64_t v)
{
    put_be32(p, v >> 32);
    put_be32(p + 4, (uint32_t)v);
}

/* strerror() with a lower-case first letter, so messages read "no such file or directory: /x". */
const char *errstr(int e)
{
    static char s[128];
    snprintf(s, sizeof s, "%s", strerror(e));
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
    return s;
}

void xclose(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Strictly parses an unsigned number; returns -1 unless all of s is a number <= max. */
int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Writes all of p, retrying on short writes (regular files, blocking fds). */
int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Byte buffers: valid bytes are p[off, off+len)                                               */


unsigned char *buf_head(struct buf *b) { return b->p + b->off; }

/* Returns room for at least `need` more bytes at the tail (compacting, then growing). */
unsigned char *buf_space(struct buf *b, size_t need)
{
    if (b->cap - b->off - b->len < need) {
        if (b->off) {
            memmove(b->p, b->p + b->off, b->len);
            b->off = 0;
        }
        if (b->cap - b->len < need) {
            size_t nc = b->cap ? b->cap : 4096;
            while (nc - b->len < need)
                nc *= 2;
            b->p = xrealloc(b->p, nc);
            b->cap = nc;
        }
    }
    return b->p + b->off + b->len;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n) {
        memcpy(buf_space(b, n), p, n);
        b->len += n;
    }
}

void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0) {
        b->off = 0;
        /* Do not keep a burst's worth of memory around forever. */
        if (b->cap > (4u << 20))
            buf_free(b);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Users: parsed from /etc/passwd and /etc/group (see the header comment for why)              */


/* Splits line at ':' into at most max fields; returns the number of fields. */
static int split_colon(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        f[n++] = line;
        char *c = strchr(line, ':');
        if (!c)
            break;
        *c = 0;
        line = c + 1;
    }
    return n;
}

static int is_number(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Supplementary groups, as initgroups(3) would compute them. */
static void load_groups(struct user *u)
{
    u->ngroups = 0;
    u->groups[u->ngroups++] = u->gid;
    FILE *f = fopen("/etc/group", "re");
    if (!f)
        return;
    char *line = NULL, *fld[4];
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0 && u->ngroups < MAX_GROUPS) {
        uint64_t gid;
        if (split_colon(line, fld, 4) < 4 || parse_u64(fld[2], 10, UINT32_MAX - 1, &gid) < 0)
            continue;
        for (char *save = NULL, *m = strtok_r(fld[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
            if (strcmp(m, u->name) != 0)
                continue;
            int dup = 0;
            for (int i = 0; i < u->ngroups; i++)
                dup |= u->groups[i] == (gid_t)gid;
            if (!dup)
                u->groups[u->ngroups++] = (gid_t)gid;
            break;
        }
    }
    free(line);
    fclose(f);
}

/* Finds a user by name (or, failing that, by numeric uid).  Returns 0, or -1 with errno
 * (ENOENT = no such user). */
int lookup_user(const char *name, struct user *u)
{
    FILE *f = fopen("/etc/passwd", "re");
    if (!f)
        return -1;
    char *line = NULL, *fld[7];
    size_t cap = 0;
    int found = 0, numeric = is_number(name);
    while (!found && getline(&line, &cap, f) > 0) {
        int n = split_colon(line, fld, 7);
        uint64_t uid, gid;
        if (n < 6 || parse_u64(fld[2], 10, UINT32_MAX - 1, &uid) < 0 ||
            parse_u64(fld[3], 10, UINT32_MAX - 1, &gid) < 0)
            continue;
        if (strcmp(fld[0], name) != 0 && !(numeric && strcmp(fld[2], name) == 0))
            continue;
        found = 1;
        snprintf(u->name, sizeof u->name, "%s", fld[0]);
        u->uid = (uid_t)uid;
        u->gid = (gid_t)gid;
        snprintf(u->home, sizeof u->home, "%s", *fld[5] ? fld[5] : "/");
        snprintf(u->shell, sizeof u->shell, "%s", n > 6 && *fld[6] ? fld[6] : "/bin/sh");
    }
    free(line);
    fclose(f);
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    load_groups(u);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Map payloads: key NUL value NUL ...                                                         */


void map_free(struct map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* The strings point into the frame payload, which outlives the handler. */
int map_parse(const unsigned char *p, size_t len, struct map *m)
{
    memset(m, 0, sizeof *m);
    if (len == 0)
        return 0;
    if (p[len - 1] != 0)
        return -1;
    size_t nul = 0;
    for (size_t i = 0; i < len; i++)
        nul += p[i] == 0;
    if (nul % 2)
        return -1;
    m->k = xrealloc(NULL, nul / 2 * sizeof *m->k);
    m->v = xrealloc(NULL, nul / 2 * sizeof *m->v);
    for (const char *s = (const char *)p; m->n < nul / 2; m->n++) {
        m->k[m->n] = s;
        s += strlen(s) + 1;
        m->v[m->n] = s;
        s += strlen(s) + 1;
        if (!*m->k[m->n]) {
            map_free(m);
            return -1;
        }
    }
    return 0;
}

/* The last value of key (keys other than env should not repeat; the last one wins). */
const char *map_get(const struct map *m, const char *key)
{
    const char *r = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->k[i], key) == 0)
            r = m->v[i];
    return r;
}
