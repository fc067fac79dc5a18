/*
** src/pc/jsep.c: JSEP (RFC 8829) for the peer connection: building offers and answers,
** the signaling state machine (W3C webrtc-pc §4.4.1.5, RFC 8829 §3.2), and applying the
** remote description to the ICE agent and the DTLS parameters.
**
** What we negotiate is one transport (max-bundle, RFC 9143) carrying one data-channel
** section. Sections of other kinds in a remote offer are answered rejected (port 0, mid
** kept, RFC 8829 §5.3.1) and repeated, still rejected, in later offers, so m-line indices
** stay stable across renegotiations (RFC 8829 §5.2.2). That list is where transceivers
** will plug in.
**
**   signaling state machine (W3C):
**
**     stable --SLD(offer)--> have-local-offer --SRD(answer)------> stable
**        |                        |  \--SRD(pranswer)--> have-remote-pranswer --SRD(answer)--> stable
**        |                        \--rollback--> stable
**        \--SRD(offer)--> have-remote-offer --SLD(answer)-------> stable
**                               |  \--SLD(pranswer)--> have-local-pranswer --SLD(answer)--> stable
**                               \--rollback--> stable
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pc/pc_int.h"
#include "util/util.h"

#define LOG_MODULE "pc"

/* ---- a tiny growing string ------------------------------------------------------------ */

typedef struct sb {
    rtc_pc *pc;
    char *p;
    size_t len, cap;
    bool fail;
} sb;

static void sb_add(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb *b, const char *fmt, ...) {
    if (b->fail) return;
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->fail = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap : 1024;
        while (ncap < b->len + (size_t)n + 1) ncap *= 2;
        char *np = rtc_realloc(&b->pc->env, b->p, b->cap, ncap);
        if (!np) {
            b->fail = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void sb_drop(sb *b) {
    if (b->p) rtc_free(&b->pc->env, b->p, b->cap);
    b->p = NULL;
    b->cap = b->len = 0;
}

/* Shrink to an exact-size, NUL-terminated copy owned by the pc (pc_strdup). */
static char *sb_take(sb *b) {
    if (b->fail || !b->p) {
        sb_drop(b);
        return NULL;
    }
    char *s = pc_strdup(b->pc, b->p, b->len);
    sb_drop(b);
    return s;
}

static void pc_free_str(rtc_pc *pc, char **s) {
    if (*s) rtc_free(&pc->env, *s, strlen(*s) + 1);
    *s = NULL;
}

static int copy_out(const char *s, size_t len, char *buf, size_t size) {
    if (!buf || size < len + 1) return RTC_ERR_TOO_SMALL;
    memcpy(buf, s, len + 1);
    return (int)len;
}

/* ---- helpers on parsed descriptions ---------------------------------------------------- */

static int dtls_hash_from_name(const char *name, rtc_dtls_hash *out) {
    static const struct {
        const char *n;
        rtc_dtls_hash h;
    } map[] = {{"sha-1", RTC_DTLS_HASH_SHA1},     {"sha-224", RTC_DTLS_HASH_SHA224},
               {"sha-256", RTC_DTLS_HASH_SHA256}, {"sha-384", RTC_DTLS_HASH_SHA384},
               {"sha-512", RTC_DTLS_HASH_SHA512}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i].n) == 0) {
            *out = map[i].h;
            return RTC_OK;
        }
    return RTC_ERR_UNSUPPORTED;
}

static rtc_dtls_setup to_dtls_setup(rtc_sdp_setup s) {
    switch (s) {
    case RTC_SDP_SETUP_ACTIVE: return RTC_DTLS_SETUP_ACTIVE;
    case RTC_SDP_SETUP_PASSIVE: return RTC_DTLS_SETUP_PASSIVE;
    case RTC_SDP_SETUP_HOLDCONN: return RTC_DTLS_SETUP_HOLDCONN;
    default: return RTC_DTLS_SETUP_ACTPASS;
    }
}

/* What a description says about its data-channel transport, validated. */
typedef struct desc_view {
    rtc_sdp_datachannel dc;
    rtc_sdp_transport t; /* of the transport owner */
    int owner;
    const char *mid;
    rtc_dtls_setup setup;
    bool setup_given;
    rtc_dtls_fingerprint fps[RTC_DTLS_MAX_REMOTE_FINGERPRINTS];
    size_t n_fps;
} desc_view;

static int view_desc(rtc_pc *pc, const rtc_sdp *sdp, bool is_offer, const char *who,
                     desc_view *v) {
    memset(v, 0, sizeof *v);
    int rc = rtc_sdp_datachannel_find(sdp, &v->dc);
    if (rc == RTC_ERR_NOT_FOUND) {
        pc_seterr(pc, "%s description has no data-channel section (m=application ... "
                      "webrtc-datachannel); media-only sessions are not supported yet", who);
        return RTC_ERR_INVALID;
    }
    if (rc < 0) {
        pc_seterr(pc, "%s description: bad data-channel section (%s)", who, rtc_sdp_error(sdp));
        return rc == RTC_ERR_PARSE ? RTC_ERR_INVALID : rc;
    }
    if (v->dc.rejected) {
        pc_seterr(pc, "%s description rejects the data-channel section (port 0)", who);
        return RTC_ERR_INVALID;
    }
    v->mid = rtc_sdp_mid(sdp, v->dc.m);
    int owner = rtc_sdp_bundle_owner(sdp, v->dc.m);
    if (owner < 0) {
        pc_seterr(pc, "%s description: malformed a=group:BUNDLE", who);
        return RTC_ERR_INVALID;
    }
    v->owner = owner;
    if (rtc_sdp_transport_get(sdp, owner, &v->t) < 0) {
        pc_seterr(pc, "%s description: malformed fingerprint, setup or BUNDLE group", who);
        return RTC_ERR_INVALID;
    }
    if (!v->t.ufrag || !v->t.pwd) {
        pc_seterr(pc, "%s description has no a=ice-ufrag / a=ice-pwd", who);
        return RTC_ERR_INVALID;
    }
    size_t ul = strlen(v->t.ufrag), pl = strlen(v->t.pwd);
    if (ul < 4 || ul > RTC_ICE_UFRAG_MAX || pl < 22 || pl > RTC_ICE_PWD_MAX) {
        pc_seterr(pc, "%s description: ICE ufrag must be 4..256 and pwd 22..256 characters "
                      "(RFC 8839 §5.4)", who);
        return RTC_ERR_INVALID;
    }
    if (v->t.fingerprint_count == 0) {
        pc_seterr(pc, "%s description has no a=fingerprint (RFC 8122)", who);
        return RTC_ERR_INVALID;
    }
    size_t n = v->t.fingerprint_count;
    if (n > RTC_SDP_TRANSPORT_MAX_FINGERPRINTS) n = RTC_SDP_TRANSPORT_MAX_FINGERPRINTS;
    for (size_t i = 0; i < n; i++) {
        const rtc_sdp_fingerprint *f = &v->t.fingerprints[i];
        rtc_dtls_fingerprint d;
        if (dtls_hash_from_name(f->hash, &d.hash) < 0) continue;
        d.len = f->len;
        if (f->len > sizeof d.value) continue;
        memcpy(d.value, f->value, f->len);
        v->fps[v->n_fps++] = d;
    }
    if (v->n_fps == 0) {
        pc_seterr(pc, "%s description: no a=fingerprint with a hash we support "
                      "(sha-1, sha-224, sha-256, sha-384, sha-512)", who);
        return RTC_ERR_UNSUPPORTED;
    }
    v->setup_given = v->t.setup != RTC_SDP_SETUP_NONE;
    /* RFC 8842 §5.1: an absent a=setup means actpass in an offer, active in an answer
    ** (RFC 4145 §4 default). */
    v->setup = v->setup_given ? to_dtls_setup(v->t.setup)
                              : (is_offer ? RTC_DTLS_SETUP_ACTPASS : RTC_DTLS_SETUP_ACTIVE);
    if (v->setup == RTC_DTLS_SETUP_HOLDCONN) {
        pc_seterr(pc, "%s description: a=setup:holdconn is not used with DTLS (RFC 8842 §5)", who);
        return RTC_ERR_INVALID;
    }
    if (!is_offer && v->setup == RTC_DTLS_SETUP_ACTPASS) {
        pc_seterr(pc, "%s answer says a=setup:actpass; an answer must be active or passive "
                      "(RFC 8842 §5.3)", who);
        return RTC_ERR_INVALID;
    }
    return RTC_OK;
}

static int parse_desc(rtc_pc *pc, const char *text, size_t len, const char *who,
                      rtc_sdp **out) {
    rtc_sdp *s = NULL;
    if (rtc_sdp_new(&s, &pc->env) < 0) return RTC_ERR_NOMEM;
    int rc = rtc_sdp_parse(s, text, len);
    if (rc < 0) {
        pc_seterr(pc, "%s description is not valid SDP: %s", who, rtc_sdp_error(s));
        rtc_sdp_free(s);
        return rc == RTC_ERR_NOMEM ? RTC_ERR_NOMEM : RTC_ERR_PARSE;
    }
    *out = s;
    return RTC_OK;
}

/* ---- building descriptions ------------------------------------------------------------ */

static void add_session(rtc_pc *pc, sb *b, const char *bundle_mid) {
    sb_add(b, "v=0\r\no=- %llu %llu IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
           (unsigned long long)pc->sess_id, (unsigned long long)(pc->sess_version + 1));
    if (bundle_mid) sb_add(b, "a=group:BUNDLE %s\r\n", bundle_mid);
    sb_add(b, "a=msid-semantic: WMS\r\n");
}

static void add_data_section(rtc_pc *pc, sb *b, const char *mid, const char *setup,
                             bool legacy) {
    if (legacy)
        sb_add(b, "m=application 9 DTLS/SCTP 5000\r\n");
    else
        sb_add(b, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
    sb_add(b, "c=IN IP4 0.0.0.0\r\n");
    for (size_t i = 0; i < pc->n_lcand; i++) sb_add(b, "a=%s\r\n", pc->lcand[i]);
    sb_add(b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", pc->ufrag, pc->pwd);
    sb_add(b, "a=fingerprint:%s\r\na=setup:%s\r\na=mid:%s\r\n", pc->local_fp_str, setup, mid);
    if (legacy)
        sb_add(b, "a=sctpmap:5000 webrtc-datachannel 1024\r\n");
    else
        sb_add(b, "a=sctp-port:5000\r\n");
    sb_add(b, "a=max-message-size:%u\r\n", (unsigned)pc->max_message_size);
    if (pc->gather_state == RTC_ICE_GATHERING_COMPLETE) sb_add(b, "a=end-of-candidates\r\n");
}

static int store_created(rtc_pc *pc, sb *b, rtc_pc_sdp_type type, char *buf, size_t size) {
    char *s = sb_take(b);
    if (!s) return RTC_ERR_NOMEM;
    pc_free_str(pc, &pc->created);
    pc->created = s;
    pc->created_len = strlen(s);
    pc->created_type = type;
    return copy_out(s, pc->created_len, buf, size);
}

int rtc_pc_create_offer(rtc_pc *pc, char *buf, size_t size) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    if (pc->sig == RTC_PC_SIGNALING_HAVE_REMOTE_OFFER ||
        pc->sig == RTC_PC_SIGNALING_HAVE_LOCAL_PRANSWER) {
        pc_seterr(pc, "create_offer in state %s: answer the remote offer (or roll it back) first",
                  rtc_pc_signaling_state_name(pc->sig));
        return RTC_ERR_MISUSE;
    }
    sb b = {.pc = pc};
    const char *mid = pc->have_dc_section ? pc->mid : "0";
    add_session(pc, &b, mid);
    if (pc->n_sections == 0) {
        add_data_section(pc, &b, mid, "actpass", pc->legacy_sctp);
    } else {
        for (size_t i = 0; i < pc->n_sections; i++) {
            if (pc->sections[i])
                sb_add(&b, "%s", pc->sections[i]);
            else
                /* RFC 8842 §5.5 / browsers: subsequent offers say actpass too; the answerer
                ** keeps the established role (rtc_dtls_setup_for_role). */
                add_data_section(pc, &b, mid, "actpass", pc->legacy_sctp);
        }
    }
    return store_created(pc, &b, RTC_PC_SDP_OFFER, buf, size);
}

int rtc_pc_create_answer(rtc_pc *pc, char *buf, size_t size) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    if (pc->sig != RTC_PC_SIGNALING_HAVE_REMOTE_OFFER &&
        pc->sig != RTC_PC_SIGNALING_HAVE_LOCAL_PRANSWER) {
        pc_seterr(pc, "create_answer in state %s: there is no remote offer to answer",
                  rtc_pc_signaling_state_name(pc->sig));
        return RTC_ERR_MISUSE;
    }
    rtc_sdp *r = pc->rparsed;
    desc_view v;
    int rc = view_desc(pc, r, true, "remote", &v);
    if (rc < 0) return rc;
    rtc_dtls_setup setup;
    if (pc->dtls_role >= 0)
        setup = rtc_dtls_setup_for_role((rtc_dtls_role)pc->dtls_role);
    else if (rtc_dtls_setup_for_answer(v.setup, &setup) < 0)
        return RTC_ERR_INVALID;
    const char *mid = v.mid ? v.mid : "0";
    bool bundled = false;
    rtc_sdp_group g;
    for (size_t i = 0; rtc_sdp_group_get(r, i, &g) == RTC_OK; i++)
        if (g.semantics.len == 6 && memcmp(g.semantics.p, "BUNDLE", 6) == 0) bundled = true;
    sb b = {.pc = pc};
    add_session(pc, &b, bundled ? mid : NULL);
    size_t nm = rtc_sdp_media_count(r);
    for (size_t i = 0; i < nm; i++) {
        if ((int)i == v.dc.m) {
            add_data_section(pc, &b, mid, rtc_dtls_setup_name(setup), v.dc.legacy);
            continue;
        }
        rtc_sdp_media m;
        rtc_sdp_get_media(r, (int)i, &m);
        /* RFC 8829 §5.3.1: a rejected section keeps media, proto and a format, port 0. */
        sb_add(&b, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m.media, m.proto,
               m.fmt_count ? m.fmts[0] : "0");
        const char *smid = rtc_sdp_mid(r, (int)i);
        if (smid) sb_add(&b, "a=mid:%s\r\n", smid);
    }
    return store_created(pc, &b, RTC_PC_SDP_ANSWER, buf, size);
}

size_t rtc_pc_pending_sdp_len(const rtc_pc *pc) { return pc && pc->created ? pc->created_len : 0; }

/* ---- state transitions ----------------------------------------------------------------- */

/* Remember the m= layout of the completed negotiation (from the offer's point of view). */
static int record_sections(rtc_pc *pc, const rtc_sdp *offer, int dc_m) {
    size_t nm = rtc_sdp_media_count(offer);
    char **arr = rtc_calloc(&pc->env, (nm ? nm : 1) * sizeof *arr);
    if (!arr) return RTC_ERR_NOMEM;
    for (size_t i = 0; i < nm; i++) {
        if ((int)i == dc_m) continue;
        rtc_sdp_media m;
        rtc_sdp_get_media(offer, (int)i, &m);
        sb b = {.pc = pc};
        sb_add(&b, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m.media, m.proto,
               m.fmt_count ? m.fmts[0] : "0");
        const char *smid = rtc_sdp_mid(offer, (int)i);
        if (smid) sb_add(&b, "a=mid:%s\r\n", smid);
        arr[i] = sb_take(&b);
        if (!arr[i]) {
            for (size_t j = 0; j < i; j++) pc_free_str(pc, &arr[j]);
            rtc_free(&pc->env, arr, (nm ? nm : 1) * sizeof *arr);
            return RTC_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < pc->n_sections; i++) pc_free_str(pc, &pc->sections[i]);
    if (pc->sections) rtc_free(&pc->env, pc->sections, (pc->n_sections ? pc->n_sections : 1) * sizeof *pc->sections);
    pc->sections = arr;
    pc->n_sections = nm;
    pc->mline = dc_m;
    return RTC_OK;
}

/* Both descriptions are in place and the state becomes stable: fix the DTLS role once,
** remember the layout, and bring the transports up. */
static int complete_negotiation(rtc_pc *pc, const rtc_sdp *local, const rtc_sdp *remote,
                                bool local_is_offer) {
    desc_view lv, rv;
    int rc = view_desc(pc, local, local_is_offer, "local", &lv);
    if (rc < 0) return rc;
    rc = view_desc(pc, remote, !local_is_offer, "remote", &rv);
    if (rc < 0) return rc;
    if (pc->dtls_role < 0) {
        rtc_dtls_role role;
        if (rtc_dtls_role_from_setup(lv.setup, rv.setup, &role) < 0) {
            pc_seterr(pc, "a=setup values %s (local) and %s (remote) do not give a DTLS role",
                      rtc_dtls_setup_name(lv.setup), rtc_dtls_setup_name(rv.setup));
            return RTC_ERR_INVALID;
        }
        pc->dtls_role = (int)role;
    }
    rc = record_sections(pc, local_is_offer ? local : remote, lv.dc.m);
    if (rc < 0) return rc;
    snprintf(pc->mid, sizeof pc->mid, "%s", lv.mid ? lv.mid : "0");
    pc->have_dc_section = true;
    pc->negotiated = true;
    pc->restart_pending = false;
    pc->legacy_sctp = rv.dc.legacy;
    pc->remote_sctp_port = rv.dc.sctp_port ? rv.dc.sctp_port : 5000;
    pc->remote_max_message_size = rv.dc.max_message_size;
    return pc_start_transports(pc);
}

/* Check that a local description is ours (no munging of credentials or fingerprint). */
static int check_local(rtc_pc *pc, const rtc_sdp *s, bool is_offer, desc_view *v) {
    int rc = view_desc(pc, s, is_offer, "local", v);
    if (rc < 0) return rc;
    if (strcmp(v->t.ufrag, pc->ufrag) != 0 || strcmp(v->t.pwd, pc->pwd) != 0) {
        pc_seterr(pc, "local description changes the ICE credentials (munging is not supported)");
        return RTC_ERR_INVALID;
    }
    bool fp_ok = false;
    for (size_t i = 0; i < v->n_fps; i++)
        if (v->fps[i].hash == pc->local_fp.hash && v->fps[i].len == pc->local_fp.len &&
            memcmp(v->fps[i].value, pc->local_fp.value, v->fps[i].len) == 0)
            fp_ok = true;
    if (!fp_ok) {
        pc_seterr(pc, "local description does not carry our certificate's fingerprint");
        return RTC_ERR_INVALID;
    }
    return RTC_OK;
}

static void swap_in(rtc_pc *pc, char **cur, rtc_pc_sdp_type *cur_t, char **prev,
                    rtc_pc_sdp_type *prev_t, char *text, rtc_pc_sdp_type t) {
    pc_free_str(pc, prev);
    *prev = *cur;
    *prev_t = *cur_t;
    *cur = text;
    *cur_t = t;
}

static void restore(rtc_pc *pc, char **cur, rtc_pc_sdp_type *cur_t, char **prev,
                    rtc_pc_sdp_type *prev_t) {
    pc_free_str(pc, cur);
    *cur = *prev;
    *cur_t = *prev_t;
    *prev = NULL;
}

static int rollback(rtc_pc *pc) {
    if (pc->sig == RTC_PC_SIGNALING_HAVE_LOCAL_OFFER) {
        restore(pc, &pc->local_sdp, &pc->local_type, &pc->prev_local_sdp, &pc->prev_local_type);
    } else if (pc->sig == RTC_PC_SIGNALING_HAVE_REMOTE_OFFER) {
        restore(pc, &pc->remote_sdp, &pc->remote_type, &pc->prev_remote_sdp,
                &pc->prev_remote_type);
        rtc_sdp_free(pc->rparsed);
        pc->rparsed = NULL;
        if (pc->remote_sdp) {
            /* It parsed before: it parses again (unless memory runs out). */
            if (parse_desc(pc, pc->remote_sdp, strlen(pc->remote_sdp), "remote", &pc->rparsed) <
                0)
                return RTC_ERR_NOMEM;
        }
    } else {
        pc_seterr(pc, "rollback in state %s: only have-local-offer and have-remote-offer can "
                      "be rolled back", rtc_pc_signaling_state_name(pc->sig));
        return RTC_ERR_MISUSE;
    }
    pc_set_signaling(pc, RTC_PC_SIGNALING_STABLE);
    pc_check_negotiation_needed(pc);
    return RTC_OK;
}

int rtc_pc_set_local_description(rtc_pc *pc, rtc_pc_sdp_type type, const char *sdp) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    if (type == RTC_PC_SDP_ROLLBACK) return rollback(pc);
    bool offer = type == RTC_PC_SDP_OFFER;
    if (type != RTC_PC_SDP_OFFER && type != RTC_PC_SDP_ANSWER && type != RTC_PC_SDP_PRANSWER)
        return RTC_ERR_INVALID;
    bool ok_state = offer ? (pc->sig == RTC_PC_SIGNALING_STABLE ||
                             pc->sig == RTC_PC_SIGNALING_HAVE_LOCAL_OFFER)
                          : (pc->sig == RTC_PC_SIGNALING_HAVE_REMOTE_OFFER ||
                             pc->sig == RTC_PC_SIGNALING_HAVE_LOCAL_PRANSWER);
    if (!ok_state) {
        pc_seterr(pc, "cannot set a local %s in state %s", rtc_pc_sdp_type_name(type),
                  rtc_pc_signaling_state_name(pc->sig));
        return RTC_ERR_MISUSE;
    }
    if (!sdp) {
        bool want_offer = offer;
        if (!pc->created || (pc->created_type == RTC_PC_SDP_OFFER) != want_offer) {
            pc_seterr(pc, "set_local_description(%s) without text needs a prior create_%s",
                      rtc_pc_sdp_type_name(type), offer ? "offer" : "answer");
            return RTC_ERR_MISUSE;
        }
        sdp = pc->created;
    }
    size_t len = strlen(sdp);
    rtc_sdp *s = NULL;
    int rc = parse_desc(pc, sdp, len, "local", &s);
    if (rc < 0) return rc;
    desc_view v;
    rc = check_local(pc, s, offer, &v);
    if (rc == RTC_OK && !offer && pc->rparsed) {
        const char *rmid = rtc_sdp_mid(pc->rparsed, pc->r_dc);
        if ((rmid || v.mid) && (!rmid || !v.mid || strcmp(rmid, v.mid) != 0)) {
            pc_seterr(pc, "local answer's data section mid does not match the offer's");
            rc = RTC_ERR_INVALID;
        }
    }
    char *text = NULL;
    if (rc >= 0 && !(text = pc_strdup(pc, sdp, len))) rc = RTC_ERR_NOMEM;
    if (rc < 0) {
        rtc_sdp_free(s);
        return rc;
    }
    if (offer) {
        if (!pc->negotiated) {
            /* RFC 8445 §6.1.1 / RFC 8829 §5.2.1: the offerer is controlling, unless the peer
            ** turns out to be lite. */
            rtc_ice_set_controlling(pc->ice, true);
        }
        snprintf(pc->mid, sizeof pc->mid, "%s", v.mid ? v.mid : "0");
        pc->mline = v.dc.m;
        swap_in(pc, &pc->local_sdp, &pc->local_type, &pc->prev_local_sdp, &pc->prev_local_type,
                text, type);
        pc->sess_version++;
        pc_set_signaling(pc, RTC_PC_SIGNALING_HAVE_LOCAL_OFFER);
    } else {
        pc_free_str(pc, &pc->local_sdp);
        pc->local_sdp = text;
        pc->local_type = type;
        pc->sess_version++;
        pc->mline = v.dc.m;
        snprintf(pc->mid, sizeof pc->mid, "%s", v.mid ? v.mid : "0");
        if (type == RTC_PC_SDP_ANSWER) {
            rc = complete_negotiation(pc, s, pc->rparsed, false);
            if (rc < 0) {
                rtc_sdp_free(s);
                return rc;
            }
            pc_free_str(pc, &pc->prev_local_sdp);
            pc_free_str(pc, &pc->prev_remote_sdp);
            pc_set_signaling(pc, RTC_PC_SIGNALING_STABLE);
            pc_check_negotiation_needed(pc);
        } else {
            pc_set_signaling(pc, RTC_PC_SIGNALING_HAVE_LOCAL_PRANSWER);
        }
    }
    rtc_sdp_free(s);
    if (!pc->gathering) return pc_start_gathering(pc);
    return RTC_OK;
}

/* New local credentials (after rtc_ice_restart) into pc->ufrag/pwd; old candidates go. */
static void refresh_local_creds(rtc_pc *pc) {
    rtc_ice_get_local_credentials(pc->ice, pc->ufrag, sizeof pc->ufrag, pc->pwd, sizeof pc->pwd);
    for (size_t i = 0; i < pc->n_lcand; i++) pc_free_str(pc, &pc->lcand[i]);
    pc->n_lcand = 0;
}

int rtc_pc_restart_ice(rtc_pc *pc) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    int rc = rtc_ice_restart(pc->ice, pc->now);
    if (rc < 0) return rc;
    refresh_local_creds(pc);
    pc->restart_pending = true;
    pc->nn_fired = false;
    pc_check_negotiation_needed(pc);
    return RTC_OK;
}

/* Hand the remote transport parameters to ICE (credentials, lite, candidates in the SDP). */
static void apply_remote_ice(rtc_pc *pc, const rtc_sdp *r, const desc_view *v, bool offer) {
    bool restart = pc->remote_creds_set && strcmp(pc->remote_ufrag, v->t.ufrag) != 0;
    if (!pc->remote_creds_set || restart) {
        if (rtc_ice_set_remote_credentials(pc->ice, v->t.ufrag, v->t.pwd) == RTC_OK) {
            pc->remote_creds_set = true;
            snprintf(pc->remote_ufrag, sizeof pc->remote_ufrag, "%s", v->t.ufrag);
        }
        /* RFC 8445 §9 / RFC 8829 §5.3.1: the peer's offer restarts ICE; our answer must carry
        ** new credentials too (unless we restarted ourselves already). */
        if (restart && offer && !pc->restart_pending) {
            rtc_ice_restart(pc->ice, pc->now);
            refresh_local_creds(pc);
        }
    }
    if (v->t.ice_lite) rtc_ice_set_remote_lite(pc->ice, true);
    const char *c;
    for (size_t i = 0; (c = rtc_sdp_candidate(r, v->owner, i)) != NULL; i++)
        (void)rtc_ice_add_remote_candidate(pc->ice, c);
    if (v->t.end_of_candidates) rtc_ice_remote_end_of_candidates(pc->ice);
}

static bool fps_equal(const rtc_dtls_fingerprint *a, size_t na, const rtc_dtls_fingerprint *b,
                      size_t nb) {
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (a[i].hash == b[j].hash && a[i].len == b[j].len &&
                memcmp(a[i].value, b[j].value, a[i].len) == 0)
                return true;
    return false;
}

int rtc_pc_set_remote_description(rtc_pc *pc, rtc_pc_sdp_type type, const char *sdp, size_t len) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    if (type == RTC_PC_SDP_ROLLBACK) return rollback(pc);
    bool offer = type == RTC_PC_SDP_OFFER;
    if (type != RTC_PC_SDP_OFFER && type != RTC_PC_SDP_ANSWER && type != RTC_PC_SDP_PRANSWER)
        return RTC_ERR_INVALID;
    if (!sdp) return RTC_ERR_INVALID;
    bool ok_state = offer ? (pc->sig == RTC_PC_SIGNALING_STABLE ||
                             pc->sig == RTC_PC_SIGNALING_HAVE_REMOTE_OFFER)
                          : (pc->sig == RTC_PC_SIGNALING_HAVE_LOCAL_OFFER ||
                             pc->sig == RTC_PC_SIGNALING_HAVE_REMOTE_PRANSWER);
    if (!ok_state) {
        pc_seterr(pc, "cannot set a remote %s in state %s", rtc_pc_sdp_type_name(type),
                  rtc_pc_signaling_state_name(pc->sig));
        return RTC_ERR_MISUSE;
    }
    rtc_sdp *s = NULL;
    int rc = parse_desc(pc, sdp, len, "remote", &s);
    if (rc < 0) return rc;
    desc_view v;
    rc = view_desc(pc, s, offer, "remote", &v);
    if (rc == RTC_OK && !offer) {
        if ((v.mid || pc->mid[0]) && (!v.mid || strcmp(v.mid, pc->mid) != 0)) {
            pc_seterr(pc, "remote answer's data section mid '%s' does not match our offer's '%s'",
                      v.mid ? v.mid : "", pc->mid);
            rc = RTC_ERR_INVALID;
        } else if (v.dc.m != pc->mline) {
            pc_seterr(pc, "remote answer's m= sections do not match our offer's");
            rc = RTC_ERR_INVALID;
        }
    }
    if (rc == RTC_OK && pc->dtls &&
        !fps_equal(v.fps, v.n_fps, pc->remote_fps, pc->n_remote_fps)) {
        pc_seterr(pc, "remote description changes the DTLS certificate; a new DTLS association "
                      "is not supported (create a new peer connection)");
        rc = RTC_ERR_INVALID;
    }
    if (rc == RTC_OK && pc->dtls_role >= 0) {
        /* RFC 8842 §5: re-offers/re-answers keep the established role. */
        bool client = pc->dtls_role == RTC_DTLS_ROLE_CLIENT;
        if ((client && v.setup == RTC_DTLS_SETUP_ACTIVE) ||
            (!client && v.setup == RTC_DTLS_SETUP_PASSIVE)) {
            pc_seterr(pc, "remote a=setup:%s would change the established DTLS role",
                      rtc_dtls_setup_name(v.setup));
            rc = RTC_ERR_INVALID;
        }
    }
    char *text = NULL;
    if (rc >= 0 && !(text = pc_strdup(pc, sdp, len))) rc = RTC_ERR_NOMEM;
    if (rc < 0) {
        rtc_sdp_free(s);
        return rc;
    }
    if (offer)
        swap_in(pc, &pc->remote_sdp, &pc->remote_type, &pc->prev_remote_sdp,
                &pc->prev_remote_type, text, type);
    else {
        pc_free_str(pc, &pc->remote_sdp);
        pc->remote_sdp = text;
        pc->remote_type = type;
    }
    rtc_sdp_free(pc->rparsed);
    pc->rparsed = s;
    pc->r_owner = v.owner;
    pc->r_dc = v.dc.m;
    if (!pc->dtls) {
        pc->n_remote_fps = v.n_fps;
        memcpy(pc->remote_fps, v.fps, v.n_fps * sizeof v.fps[0]);
        rtc_dtls_fingerprint_format(&v.fps[0], pc->remote_fp_str, sizeof pc->remote_fp_str);
    }
    apply_remote_ice(pc, s, &v, offer);
    if (offer) {
        pc_set_signaling(pc, RTC_PC_SIGNALING_HAVE_REMOTE_OFFER);
        return RTC_OK;
    }
    if (type == RTC_PC_SDP_PRANSWER) {
        pc_set_signaling(pc, RTC_PC_SIGNALING_HAVE_REMOTE_PRANSWER);
        return RTC_OK;
    }
    rtc_sdp *l = NULL;
    rc = parse_desc(pc, pc->local_sdp, strlen(pc->local_sdp), "local", &l);
    if (rc < 0) return rc;
    rc = complete_negotiation(pc, l, s, true);
    rtc_sdp_free(l);
    if (rc < 0) return rc;
    pc_free_str(pc, &pc->prev_local_sdp);
    pc_free_str(pc, &pc->prev_remote_sdp);
    pc_set_signaling(pc, RTC_PC_SIGNALING_STABLE);
    pc_check_negotiation_needed(pc);
    return RTC_OK;
}

int rtc_pc_add_ice_candidate(rtc_pc *pc, const char *candidate, const char *mid,
                             int mline_index) {
    if (!pc) return RTC_ERR_INVALID;
    if (pc->closed) return RTC_ERR_CLOSED;
    if (!pc->rparsed) {
        pc_seterr(pc, "add_ice_candidate before any remote description");
        return RTC_ERR_MISUSE;
    }
    int m;
    if (mid) {
        m = rtc_sdp_find_mid(pc->rparsed, mid);
        if (m < 0) {
            pc_seterr(pc, "add_ice_candidate: no section with mid '%s'", mid);
            return RTC_ERR_INVALID;
        }
    } else {
        if (mline_index < 0 || (size_t)mline_index >= rtc_sdp_media_count(pc->rparsed)) {
            pc_seterr(pc, "add_ice_candidate: no section %d", mline_index);
            return RTC_ERR_INVALID;
        }
        m = mline_index;
    }
    /* max-bundle: only the BUNDLE tag's transport exists. Candidates for other sections
    ** (rejected, or bundled onto the tag) have nowhere to go. */
    int owner = rtc_sdp_bundle_owner(pc->rparsed, m);
    if (owner != pc->r_owner) return 1;
    if (!candidate || !candidate[0]) return rtc_ice_remote_end_of_candidates(pc->ice);
    int rc = rtc_ice_add_remote_candidate(pc->ice, candidate);
    if (rc < 0) pc_seterr(pc, "add_ice_candidate: %s", rtc_strerror(rc));
    return rc;
}

int rtc_pc_local_description(const rtc_pc *pc, char *buf, size_t size) {
    if (!pc) return RTC_ERR_INVALID;
    if (!pc->local_sdp) return 0;
    rtc_pc *mpc = (rtc_pc *)pc; /* only pc->env is used for scratch memory */
    rtc_sdp *s = NULL;
    if (parse_desc(mpc, pc->local_sdp, strlen(pc->local_sdp), "local", &s) < 0)
        return RTC_ERR_NOMEM;
    int m = pc->mline;
    if (m >= 0 && (size_t)m < rtc_sdp_media_count(s)) {
        /* Candidates gathered since the description was made (W3C localDescription). */
        for (size_t i = 0; i < pc->n_lcand; i++) {
            bool have = false;
            const char *c;
            for (size_t j = 0; (c = rtc_sdp_candidate(s, m, j)) != NULL; j++)
                if (strcmp(c, pc->lcand[i] + strlen("candidate:")) == 0) have = true;
            if (!have) rtc_sdp_add_attr(s, m, "candidate", pc->lcand[i] + strlen("candidate:"));
        }
        if (pc->gather_state == RTC_ICE_GATHERING_COMPLETE &&
            !rtc_sdp_has_attr(s, m, "end-of-candidates"))
            rtc_sdp_add_attr(s, m, "end-of-candidates", NULL);
    }
    int need = rtc_sdp_serialize(s, NULL, 0);
    int rc = need;
    if (need >= 0) {
        if (!buf || size < (size_t)need + 1)
            rc = RTC_ERR_TOO_SMALL;
        else
            rc = rtc_sdp_serialize(s, buf, size);
    }
    rtc_sdp_free(s);
    return rc;
}

int rtc_pc_remote_description(const rtc_pc *pc, char *buf, size_t size) {
    if (!pc) return RTC_ERR_INVALID;
    if (!pc->remote_sdp) return 0;
    return copy_out(pc->remote_sdp, strlen(pc->remote_sdp), buf, size);
}

void pc_jsep_free(rtc_pc *pc) {
    pc_free_str(pc, &pc->created);
    pc_free_str(pc, &pc->local_sdp);
    pc_free_str(pc, &pc->remote_sdp);
    pc_free_str(pc, &pc->prev_local_sdp);
    pc_free_str(pc, &pc->prev_remote_sdp);
    rtc_sdp_free(pc->rparsed);
    pc->rparsed = NULL;
    for (size_t i = 0; i < pc->n_sections; i++) pc_free_str(pc, &pc->sections[i]);
    if (pc->sections)
        rtc_free(&pc->env, pc->sections, (pc->n_sections ? pc->n_sections : 1) * sizeof *pc->sections);
    pc->sections = NULL;
    pc->n_sections = 0;
}
