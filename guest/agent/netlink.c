/* The network part of IDENTITY over rtnetlink: MAC, addresses, link state and default route. */
#include "agent.h"

/* The network part of IDENTITY talks rtnetlink directly: under TCG every process the guest
 * starts costs 40-100 ms, so running ip(8) five times made IDENTITY take ~0.5 s.  Each request
 * asks for an ACK and is answered synchronously by the kernel (within sendmsg), so one
 * blocking socket with a receive timeout is enough. */

struct nl {
    int fd;
    uint32_t seq;
    char ext[256];            /* the kernel's extended ACK message of the last failure, or "" */
};

/* Room for every request below: header + ifinfomsg/ifaddrmsg/rtmsg + a few small attributes. */
struct nl_req {
    struct nlmsghdr h;
    unsigned char body[256];
};

static unsigned char nl_rbuf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));

static int nl_open(struct nl *nl)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    struct timeval tv = {.tv_sec = NETLINK_TIMEOUT_MS / 1000, .tv_usec = NETLINK_TIMEOUT_MS % 1000 * 1000};
    int one = 1;
    nl->seq = (uint32_t)now_ms();
    nl->ext[0] = 0;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0)
        return -1;
    /* Extended ACKs say what was wrong ("Invalid prefix length"); short ACKs skip the echo of
     * our request.  Both are optional (Linux >= 4.12): older kernels ignore them. */
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        bind(nl->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        xclose(&nl->fd);
        errno = e;
        return -1;
    }
    return 0;
}

static void nl_init(struct nl_req *r, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
    memset(r, 0, sizeof *r);
    r->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hlen);
    r->h.nlmsg_type = type;
    r->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    memcpy(NLMSG_DATA(&r->h), hdr, hlen);
}

static void nl_attr(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(r->h.nlmsg_len);
    if (off + RTA_SPACE(len) > sizeof *r)
        abort();   /* a programming error: every request here is small and fixed */
    struct rtattr *a = (struct rtattr *)((char *)r + off);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static int nl_send(struct nl *nl, struct nl_req *r)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    r->h.nlmsg_seq = ++nl->seq;
    nl->ext[0] = 0;
    for (;;) {
        ssize_t w = sendto(nl->fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
        if (w == (ssize_t)r->h.nlmsg_len)
            return 0;
        if (w < 0 && errno == EINTR)
            continue;
        if (w >= 0)
            errno = EIO;
        return -1;
    }
}

/* The next datagram from the kernel; returns its length or -1 (timeout = ETIMEDOUT). */
static ssize_t nl_recv(struct nl *nl)
{
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = nl_rbuf, .iov_len = sizeof nl_rbuf};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(nl->fd, &mh, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            errno = ETIMEDOUT;
        if (n >= 0 && (mh.msg_flags & MSG_TRUNC)) {
            errno = EMSGSIZE;
            return -1;
        }
        if (n >= 0 && from.nl_pid != 0)
            continue;   /* not from the kernel */
        return n;
    }
}

/* An NLMSG_ERROR message: returns its error (0 = ACK) and keeps the extended ACK's text. */
static int nl_error(struct nl *nl, const struct nlmsghdr *h)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        return EIO;
    const struct nlmsgerr *e = NLMSG_DATA(h);
    if (e->error == 0)
        return 0;
    if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
        /* The TLVs follow the error and the echoed request (only its header with CAP_ACK). */
        size_t off = NLMSG_LENGTH(sizeof *e);
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
            off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
        const unsigned char *base = (const unsigned char *)h;
        while (off + sizeof(struct nlattr) <= h->nlmsg_len) {
            const struct nlattr *a = (const struct nlattr *)(base + off);
            if (a->nla_len < sizeof *a || off + a->nla_len > h->nlmsg_len)
                break;
            if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
                size_t len = a->nla_len - sizeof *a;
                const char *msg = (const char *)(a + 1);
                len = strnlen(msg, len);
                snprintf(nl->ext, sizeof nl->ext, "%.*s", (int)len, msg);
                break;
            }
            off += NLA_ALIGN(a->nla_len);
        }
    }
    return e->error < 0 ? -e->error : EIO;
}

/* Sends a request with NLM_F_ACK and waits for its ACK.  Returns 0, or -1 with errno. */
static int nl_talk(struct nl *nl, struct nl_req *r)
{
    r->h.nlmsg_flags |= NLM_F_ACK;
    if (nl_send(nl, r) < 0)
        return -1;
    for (;;) {
        ssize_t got = nl_recv(nl);
        if (got < 0)
            return -1;
        int len = (int)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)nl_rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
                continue;   /* a late answer to an earlier request */
            int e = nl_error(nl, h);
            if (e == 0)
                return 0;
            errno = e;
            return -1;
        }
    }
}

/* Error text for a failed netlink step: errno text, then the kernel's explanation if any. */
static int nl_fail(const struct nl *nl, char *err, size_t n, const char *step, int e)
{
    return fail_msg(err, n, "network: %s: %s%s%s", step, errstr(e), nl->ext[0] ? ": " : "", nl->ext);
}

/* RTM_NEWLINK on an existing link: flags (mask change) and/or a new hardware address. */
static int nl_setlink(struct nl *nl, int ifindex, unsigned flags, unsigned change, const unsigned char *mac)
{
    struct nl_req r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = flags, .ifi_change = change};
    nl_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
    if (mac)
        nl_attr(&r, IFLA_ADDRESS, mac, 6);
    return nl_talk(nl, &r);
}

struct nl_addr {
    struct ifaddrmsg ifa;
    unsigned char local[16], address[16];
    unsigned short local_len, address_len;
};

/* Removes every address of the interface, of every family (as `ip addr flush dev IFACE`). */
static int nl_flush_addrs(struct nl *nl, int ifindex, char *err, size_t n, const char *iface)
{
    enum { CAP = 64 };
    static struct nl_addr found[CAP];
    char step[64];
    snprintf(step, sizeof step, "flush addresses of %s", iface);
    for (int round = 0; round < 16; round++) {
        struct nl_req r;
        struct ifaddrmsg req = {.ifa_family = AF_UNSPEC, .ifa_index = (unsigned)ifindex};
        size_t nfound = 0;
        int done = 0, more = 0;
        nl_init(&r, RTM_GETADDR, NLM_F_DUMP, &req, sizeof req);
        if (nl_send(nl, &r) < 0)
            return nl_fail(nl, err, n, step, errno);
        while (!done) {
            ssize_t got = nl_recv(nl);
            if (got < 0)
                return nl_fail(nl, err, n, step, errno);
            int len = (int)got;
            for (struct nlmsghdr *h = (struct nlmsghdr *)nl_rbuf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_seq != r.h.nlmsg_seq)
                    continue;
                if (h->nlmsg_type == NLMSG_DONE) {
                    done = 1;
                    break;
                }
                if (h->nlmsg_type == NLMSG_ERROR) {
                    int e = nl_error(nl, h);
                    return nl_fail(nl, err, n, step, e ? e : EIO);
                }
                if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
                    continue;
                const struct ifaddrmsg *ifa = NLMSG_DATA(h);
                if ((int)ifa->ifa_index != ifindex)
                    continue;   /* older kernels dump every interface's addresses */
                if (nfound == CAP) {
                    more = 1;   /* read the rest of the dump; another round deletes them */
                    continue;
                }
                struct nl_addr *a = &found[nfound];
                memset(a, 0, sizeof *a);
                a->ifa = *ifa;
                int alen = (int)IFA_PAYLOAD(h);
                for (struct rtattr *at = IFA_RTA(ifa); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
                    size_t pl = RTA_PAYLOAD(at);
                    if (pl > 16)
                        continue;
                    if (at->rta_type == IFA_LOCAL) {
                        memcpy(a->local, RTA_DATA(at), pl);
                        a->local_len = (unsigned short)pl;
                    } else if (at->rta_type == IFA_ADDRESS) {
                        memcpy(a->address, RTA_DATA(at), pl);
                        a->address_len = (unsigned short)pl;
                    }
                }
                if (a->local_len || a->address_len)
                    nfound++;
            }
        }
        for (size_t i = 0; i < nfound; i++) {
            struct nl_addr *a = &found[i];
            nl_init(&r, RTM_DELADDR, 0, &a->ifa, sizeof a->ifa);
            if (a->local_len)
                nl_attr(&r, IFA_LOCAL, a->local, a->local_len);
            if (a->address_len)
                nl_attr(&r, IFA_ADDRESS, a->address, a->address_len);
            /* Deleting a primary IPv4 address also deletes its secondaries: already gone. */
            if (nl_talk(nl, &r) < 0 && errno != EADDRNOTAVAIL && errno != ENOENT && errno != ENODEV)
                return nl_fail(nl, err, n, step, errno);
        }
        if (!more)
            return 0;
    }
    return fail_msg(err, n, "network: %s: addresses keep appearing", step);
}

/* "52:54:00:12:34:56" (or with '-'), exactly six hex pairs. */
static int parse_mac(const char *s, unsigned char mac[6])
{
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
            return -1;
        char hex[3] = {s[0], s[1], 0};
        mac[i] = (unsigned char)strtoul(hex, NULL, 16);
        s += 2;
        if (i < 5 && *s != ':' && *s != '-')
            return -1;
        if (i < 5)
            s++;
    }
    return *s ? -1 : 0;
}

/* "10.0.0.5/24"; without "/len" a /32, as ip(8) takes it. */
static int parse_cidr(const char *s, struct in_addr *a, unsigned char *prefix)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    uint64_t p = 32;
    if (len == 0 || len >= sizeof addr)
        return -1;
    memcpy(addr, s, len);
    addr[len] = 0;
    if (inet_pton(AF_INET, addr, a) != 1)
        return -1;
    if (slash && parse_u64(slash + 1, 10, 32, &p) < 0)
        return -1;
    *prefix = (unsigned char)p;
    return 0;
}

/* The interface's MAC, addresses, link state and default route, in the order ip(8) was run
 * before: set the MAC, flush the addresses, add the address, link up, replace the default
 * route.  Every value is checked before anything changes. */
int id_network(const struct map *m, char *err, size_t n)
{
    const char *iface = map_get(m, "iface") ? map_get(m, "iface") : "eth0";
    const char *mac_s = map_get(m, "mac"), *ip_s = map_get(m, "ip"), *gw_s = map_get(m, "gateway");
    unsigned char mac[6], prefix = 0;
    struct in_addr ip, gw;
    char step[128];
    if (!*iface || strlen(iface) >= IFNAMSIZ || strchr(iface, '/'))
        return fail_msg(err, n, "network: invalid iface: %s", iface);
    if (mac_s && parse_mac(mac_s, mac) < 0)
        return fail_msg(err, n, "network: invalid mac: %s", mac_s);
    if (ip_s && parse_cidr(ip_s, &ip, &prefix) < 0)
        return fail_msg(err, n, "network: invalid ip (want IPv4/prefix): %s", ip_s);
    if (gw_s && inet_pton(AF_INET, gw_s, &gw) != 1)
        return fail_msg(err, n, "network: invalid gateway: %s", gw_s);

    struct nl nl;
    if (nl_open(&nl) < 0)
        return fail_msg(err, n, "network: netlink socket: %s", errstr(errno));
    int r = 0;
    /* SIOCGIFINDEX works on any socket, the netlink one included. */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, iface, strlen(iface));
    if (ioctl(nl.fd, SIOCGIFINDEX, &ifr) < 0) {
        r = fail_msg(err, n, "network: interface %s: %s", iface, errstr(errno));
        goto out;
    }
    int idx = ifr.ifr_ifindex;

    if (mac_s) {
        snprintf(step, sizeof step, "set %s address %s", iface, mac_s);
        /* virtio_net (and veth) change the MAC of a running link (IFF_LIVE_ADDR_CHANGE); a
         * driver that cannot says EBUSY, and gets it while down (the link goes up below). */
        if (nl_setlink(&nl, idx, 0, 0, mac) < 0) {
            if (errno != EBUSY) {
                r = nl_fail(&nl, err, n, step, errno);
                goto out;
            }
            if (nl_setlink(&nl, idx, 0, IFF_UP, NULL) < 0 || nl_setlink(&nl, idx, 0, 0, mac) < 0) {
                r = nl_fail(&nl, err, n, step, errno);
                goto out;
            }
        }
    }
    if (ip_s) {
        if ((r = nl_flush_addrs(&nl, idx, err, n, iface)) < 0)
            goto out;
        struct nl_req q;
        struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = prefix,
                                .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)idx};
        nl_init(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
        nl_attr(&q, IFA_LOCAL, &ip, 4);
        nl_attr(&q, IFA_ADDRESS, &ip, 4);
        if (nl_talk(&nl, &q) < 0) {
            snprintf(step, sizeof step, "add address %s to %s", ip_s, iface);
            r = nl_fail(&nl, err, n, step, errno);
            goto out;
        }
    }
    if (nl_setlink(&nl, idx, IFF_UP, IFF_UP, NULL) < 0) {
        snprintf(step, sizeof step, "set %s up", iface);
        r = nl_fail(&nl, err, n, step, errno);
        goto out;
    }
    if (gw_s) {
        struct nl_req q;
        struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                            .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
        uint32_t oif = (uint32_t)idx;
        nl_init(&q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rtm, sizeof rtm);
        nl_attr(&q, RTA_GATEWAY, &gw, 4);
        nl_attr(&q, RTA_OIF, &oif, 4);
        if (nl_talk(&nl, &q) < 0) {
            snprintf(step, sizeof step, "default route via %s dev %s", gw_s, iface);
            r = nl_fail(&nl, err, n, step, errno);
            goto out;
        }
    }
out:
    xclose(&nl.fd);
    return r;
}
