/*
** tests/unit/srtp/test_vectors.c: published SRTP test vectors (see
** /work/shared/vectors/README.md): RFC 3711 B.2 (AES-CM keystream), B.3 (key derivation),
** the SRTCP labels 3/4/5 (extra, computed), libSRTP's end-to-end AES_CM_128_HMAC_SHA1_80
** RTP/RTCP packets, RFC 7714 §16.1 (AEAD_AES_128_GCM RTP) and §17.2 (AEAD_AES_256_GCM RTCP),
** plus RFC 7714 §16.2 and §17.1 (see the note above test_rfc7714_16_2_and_17_1).
*/
#include <stdlib.h>

#include "cwebrtc/srtp.h"
#include "srtp/srtp_internal.h"
#include "test.h"

static const char *B3_KEY = "E1F97A0D3E018BE0D64FA32C06DE4139";
static const char *B3_SALT = "0EC675AD498AFEEBB6960B3AABE6";

static void test_b3_kdf(void) {
    uint8_t key[16], salt[14], out[94], want[94];
    test_unhex(B3_KEY, key, sizeof key);
    test_unhex(B3_SALT, salt, sizeof salt);

    REQUIRE(rsrtp_kdf(NULL, key, 16, salt, 14, RSRTP_LABEL_RTP_ENC, out, 16) == RTC_OK);
    test_unhex("C61E7A93744F39EE10734AFE3FF7A087", want, 16);
    CHECK_MEM(out, want, 16);

    REQUIRE(rsrtp_kdf(NULL, key, 16, salt, 14, RSRTP_LABEL_RTP_SALT, out, 14) == RTC_OK);
    test_unhex("30CBBC08863D8C85D49DB34A9AE1", want, 14);
    CHECK_MEM(out, want, 14);

    REQUIRE(rsrtp_kdf(NULL, key, 16, salt, 14, RSRTP_LABEL_RTP_AUTH, out, 94) == RTC_OK);
    test_unhex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE"
               "E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25"
               "6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2",
               want, 94);
    CHECK_MEM(out, want, 94);

    /* Extras 4a: SRTCP labels, same master key (computed, matching public suites). */
    REQUIRE(rsrtp_kdf(NULL, key, 16, salt, 14, RSRTP_LABEL_RTCP_ENC, out, 16) == RTC_OK);
    test_unhex("4c1aa45a81f73d61c800bbb00fbb1eaa", want, 16);
    CHECK_MEM(out, want, 16);
    REQUIRE(rsrtp_kdf(NULL, key, 16, salt, 14, RSRTP_LABEL_RTCP_AUTH, out, 20) == RTC_OK);
    test_unhex("8d54534feb49ae8e7993a6bd0b844fc323a93dfd", want, 20);
    CHECK_MEM(out, want, 20);
    REQUIRE(rsrtp_kdf(NULL, key, 16, salt, 14, RSRTP_LABEL_RTCP_SALT, out, 14) == RTC_OK);
    test_unhex("9581c7ad87b3e530bf3e4454a8b3", want, 14);
    CHECK_MEM(out, want, 14);

    /* Bad lengths are refused, not guessed at. */
    CHECK_EQ_INT(rsrtp_kdf(NULL, key, 15, salt, 14, 0, out, 16), RTC_ERR_INVALID);
    CHECK_EQ_INT(rsrtp_kdf(NULL, key, 16, salt, 13, 0, out, 16), RTC_ERR_INVALID);
}

static void test_b2_keystream(void) {
    /* With SSRC 0 and index 0 the AES-CM IV is the (shifted) salt itself. */
    uint8_t salt[14], iv[16], want_iv[16], key[16];
    test_unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt, sizeof salt);
    test_unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", want_iv, sizeof want_iv);
    test_unhex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof key);
    rsrtp_cm_iv(iv, salt, 0, 0);
    CHECK_MEM(iv, want_iv, 16);
    /* SSRC lands on octets 4..7 and the 48-bit index on 8..13 (RFC 3711 §4.1.1). */
    rsrtp_cm_iv(iv, salt, 0x01020304u, 0x0000a1a2a3a4a5a6ull);
    test_unhex("f0f1f2f3f5f7f5f3595b595f595b0000", want_iv, 16);
    CHECK_MEM(iv, want_iv, 16);

    /* The whole 65282-block segment: the label-0 PRF is plain AES-CM from IV = salt. */
    const size_t n = 1044512;
    uint8_t *ks = malloc(n);
    REQUIRE(ks);
    CHECK(rsrtp_kdf(NULL, key, 16, salt, 14, 0, ks, n) == RTC_OK);
    uint8_t want[16 * 3];
    test_unhex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB"
               "41E95B3BB0A2E8DD477901E4FCA894C0",
               want, sizeof want);
    CHECK_MEM(ks, want, 48);
    test_unhex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE"
               "6A2CC3787889374FBEB4C81B17BA6C44",
               want, sizeof want);
    CHECK_MEM(ks + n - 48, want, 48);
    free(ks);
}

static rtc_srtp *session(uint16_t profile, rtc_srtp_direction dir, const char *key_hex,
                         const char *salt_hex) {
    rtc_srtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.direction = dir;
    cfg.keys.profile = profile;
    cfg.keys.key_len = test_unhex(key_hex, cfg.keys.key, sizeof cfg.keys.key);
    cfg.keys.salt_len = test_unhex(salt_hex, cfg.keys.salt, sizeof cfg.keys.salt);
    rtc_srtp *s = NULL;
    if (rtc_srtp_new(&s, &cfg, NULL) != RTC_OK) return NULL;
    return s;
}

static void test_e2e_aes_cm_80(void) {
    rtc_srtp *tx = session(RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_OUTBOUND, B3_KEY, B3_SALT);
    rtc_srtp *rx = session(RTC_SRTP_AES128_CM_SHA1_80, RTC_SRTP_INBOUND, B3_KEY, B3_SALT);
    REQUIRE(tx && rx);
    uint8_t rtp[64], want[64], buf[64], back[64];
    size_t n =
        test_unhex("800f1234decafbadcafebabeabababababababababababababababab", rtp, sizeof rtp);
    size_t wn = test_unhex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc"
                           "99ea179b8dbb",
                           want, sizeof want);
    size_t len = 0, blen = 0;
    CHECK_EQ_INT(rtc_srtp_protect(tx, rtp, n, buf, sizeof buf, &len), RTC_OK);
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);
    CHECK_EQ_INT(rtc_srtp_unprotect(rx, want, wn, back, sizeof back, &blen), RTC_OK);
    CHECK_EQ_INT(blen, n);
    CHECK_MEM(back, rtp, n);

    /* SRTCP with index 1 (libSRTP's first index; RFC 3711 starts at 0, hence the setter). */
    n = test_unhex("81c8000bcafebabeabababababababababababababababab", rtp, sizeof rtp);
    wn = test_unhex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c123"
                    "0798",
                    want, sizeof want);
    CHECK_EQ_INT(rtc_srtp_set_rtcp_index(tx, 0xcafebabe, 1), RTC_OK);
    CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx, rtp, n, buf, sizeof buf, &len), RTC_OK);
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);
    CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, want, wn, back, sizeof back, &blen), RTC_OK);
    CHECK_EQ_INT(blen, n);
    CHECK_MEM(back, rtp, n);
    rtc_srtp_free(tx);
    rtc_srtp_free(rx);
}

static void test_rfc7714_16_1(void) {
    const char *key_hex = "000102030405060708090a0b0c0d0e0f",
               *salt_hex = "517569642070726f2071756f";
    uint8_t key[16], salt[12], iv[12], want_iv[12];
    test_unhex(key_hex, key, sizeof key);
    test_unhex(salt_hex, salt, sizeof salt);
    rsrtp_gcm_rtp_iv(iv, salt, 0x5501a0b2, 0, 0xf17b);
    test_unhex("51753c6580c2726f20718414", want_iv, sizeof want_iv);
    CHECK_MEM(iv, want_iv, 12);

    rtc_srtp *tx = session(RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_OUTBOUND, key_hex, salt_hex);
    rtc_srtp *rx = session(RTC_SRTP_AEAD_AES_128_GCM, RTC_SRTP_INBOUND, key_hex, salt_hex);
    REQUIRE(tx && rx);
    /* The RFC gives session keys: install them instead of the derived ones. */
    REQUIRE(rsrtp_set_session_keys(tx, false, key, salt, NULL) == RTC_OK);
    REQUIRE(rsrtp_set_session_keys(rx, false, key, salt, NULL) == RTC_OK);
    uint8_t rtp[128], want[128], buf[128], back[128];
    size_t n = test_unhex("8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669"
                          "736120696e207061727465732074726573",
                          rtp, sizeof rtp);
    size_t wn = test_unhex("8040f17b8041f8d35501a0b2"
                           "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de"
                           "3adf8833899d7f27beb16a9152cf765ee4390cce",
                           want, sizeof want);
    size_t len = 0, blen = 0;
    CHECK_EQ_INT(rtc_srtp_protect(tx, rtp, n, buf, sizeof buf, &len), RTC_OK);
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);
    /* One flipped tag bit: rejected, and it leaves no state behind. */
    want[wn - 1] ^= 1;
    CHECK_EQ_INT(rtc_srtp_unprotect(rx, want, wn, back, sizeof back, &blen), RTC_ERR_AUTH);
    want[wn - 1] ^= 1;
    CHECK_EQ_INT(rtc_srtp_unprotect(rx, want, wn, back, sizeof back, &blen), RTC_OK);
    CHECK_EQ_INT(blen, n);
    CHECK_MEM(back, rtp, n);
    CHECK_EQ_INT(rtc_srtp_unprotect(rx, want, wn, back, sizeof back, &blen), RTC_ERR_REPLAY);
    rtc_srtp_free(tx);
    rtc_srtp_free(rx);
}

static void test_rfc7714_17_2(void) {
    const char *key_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const char *salt_hex = "517569642070726f2071756f";
    uint8_t key[32], salt[12], iv[12], want_iv[12];
    test_unhex(key_hex, key, sizeof key);
    test_unhex(salt_hex, salt, sizeof salt);
    rsrtp_gcm_rtcp_iv(iv, salt, 0x4d617273, 0x5d4);
    test_unhex("517524055203726f207170bb", want_iv, sizeof want_iv);
    CHECK_MEM(iv, want_iv, 12);

    rtc_srtp *tx = session(RTC_SRTP_AEAD_AES_256_GCM, RTC_SRTP_OUTBOUND, key_hex, salt_hex);
    rtc_srtp *rx = session(RTC_SRTP_AEAD_AES_256_GCM, RTC_SRTP_INBOUND, key_hex, salt_hex);
    REQUIRE(tx && rx);
    REQUIRE(rsrtp_set_session_keys(tx, true, key, salt, NULL) == RTC_OK);
    REQUIRE(rsrtp_set_session_keys(rx, true, key, salt, NULL) == RTC_OK);
    uint8_t rtcp[128], want[128], buf[128], back[128];
    size_t n = test_unhex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61de"
                          "adbeefdeadbeefdeadbeefdeadbeefdeadbeef",
                          rtcp, sizeof rtcp);
    size_t wn = test_unhex("81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2"
                           "eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26a"
                           "c3be800005d4",
                           want, sizeof want);
    size_t len = 0, blen = 0;
    CHECK_EQ_INT(rtc_srtp_set_rtcp_index(tx, 0x4d617273, 0x5d4), RTC_OK);
    CHECK_EQ_INT(rtc_srtp_protect_rtcp(tx, rtcp, n, buf, sizeof buf, &len), RTC_OK);
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);
    CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, want, wn, back, sizeof back, &blen), RTC_OK);
    CHECK_EQ_INT(blen, n);
    CHECK_MEM(back, rtcp, n);
    /* A second copy is a replay. */
    CHECK_EQ_INT(rtc_srtp_unprotect_rtcp(rx, want, wn, back, sizeof back, &blen), RTC_ERR_REPLAY);
    rtc_srtp_free(tx);
    rtc_srtp_free(rx);
}

/* RFC 7714 §16.2 (AEAD_AES_256_GCM RTP) and §17.1 (AEAD_AES_128_GCM SRTCP): not in
** shared/vectors; taken from several public suites that quote the RFC and re-checked by
** computation (Python `cryptography` AESGCM with the RFC's IV/AAD rules) on 2026-11-27. */
static void gcm_case(uint16_t profile, bool rtcp, const char *key_hex, const char *in_hex,
                     const char *want_hex, uint32_t ssrc, uint32_t index) {
    const char *salt_hex = "517569642070726f2071756f";
    uint8_t key[32], salt[12];
    test_unhex(key_hex, key, sizeof key);
    test_unhex(salt_hex, salt, sizeof salt);
    rtc_srtp *tx = session(profile, RTC_SRTP_OUTBOUND, key_hex, salt_hex);
    rtc_srtp *rx = session(profile, RTC_SRTP_INBOUND, key_hex, salt_hex);
    REQUIRE(tx && rx);
    REQUIRE(rsrtp_set_session_keys(tx, rtcp, key, salt, NULL) == RTC_OK);
    REQUIRE(rsrtp_set_session_keys(rx, rtcp, key, salt, NULL) == RTC_OK);
    uint8_t in[128], want[128], buf[128], back[128];
    size_t n = test_unhex(in_hex, in, sizeof in), wn = test_unhex(want_hex, want, sizeof want);
    size_t len = 0, blen = 0;
    if (rtcp) CHECK_EQ_INT(rtc_srtp_set_rtcp_index(tx, ssrc, index), RTC_OK);
    CHECK_EQ_INT(rtcp ? rtc_srtp_protect_rtcp(tx, in, n, buf, sizeof buf, &len)
                      : rtc_srtp_protect(tx, in, n, buf, sizeof buf, &len),
                 RTC_OK);
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);
    want[20] ^= 0x08; /* tampered ciphertext: rejected */
    CHECK_EQ_INT(rtcp ? rtc_srtp_unprotect_rtcp(rx, want, wn, back, sizeof back, &blen)
                      : rtc_srtp_unprotect(rx, want, wn, back, sizeof back, &blen),
                 RTC_ERR_AUTH);
    want[20] ^= 0x08;
    CHECK_EQ_INT(rtcp ? rtc_srtp_unprotect_rtcp(rx, want, wn, back, sizeof back, &blen)
                      : rtc_srtp_unprotect(rx, want, wn, back, sizeof back, &blen),
                 RTC_OK);
    CHECK_EQ_INT(blen, n);
    CHECK_MEM(back, in, n);
    rtc_srtp_free(tx);
    rtc_srtp_free(rx);
}

static void test_rfc7714_16_2_and_17_1(void) {
    gcm_case(RTC_SRTP_AEAD_AES_256_GCM, false,
             "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
             "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e2070"
             "61727465732074726573",
             "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a02"
             "76ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
             0x5501a0b2, 0);
    gcm_case(RTC_SRTP_AEAD_AES_128_GCM, true, "000102030405060708090a0b0c0d0e0f",
             "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeef"
             "deadbeefdeadbeefdeadbeef",
             "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda"
             "4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4",
             0x4d617273, 0x5d4);
}

static void test_profiles_and_split(void) {
    size_t k = 0, s = 0;
    CHECK_EQ_INT(rtc_srtp_profile_lengths(RTC_SRTP_AES128_CM_SHA1_80, &k, &s), RTC_OK);
    CHECK(k == 16 && s == 14);
    CHECK_EQ_INT(rtc_srtp_profile_lengths(RTC_SRTP_AES128_CM_SHA1_32, &k, &s), RTC_OK);
    CHECK(k == 16 && s == 14);
    CHECK_EQ_INT(rtc_srtp_profile_lengths(RTC_SRTP_AEAD_AES_128_GCM, &k, &s), RTC_OK);
    CHECK(k == 16 && s == 12);
    CHECK_EQ_INT(rtc_srtp_profile_lengths(RTC_SRTP_AEAD_AES_256_GCM, &k, &s), RTC_OK);
    CHECK(k == 32 && s == 12);
    CHECK_EQ_INT(rtc_srtp_profile_lengths(0x0003, &k, &s), RTC_ERR_UNSUPPORTED);
    rtc_srtp_profile_info info;
    CHECK_EQ_INT(rtc_srtp_profile_get_info(RTC_SRTP_AES128_CM_SHA1_32, &info), RTC_OK);
    CHECK(info.rtp_tag_len == 4 && info.rtcp_tag_len == 10 && !info.aead);
    CHECK_STR(rtc_srtp_profile_name(RTC_SRTP_AEAD_AES_256_GCM), "AEAD_AES_256_GCM");
    CHECK(rtc_srtp_profile_name(0) == NULL);

    /* RFC 5764 §4.2 layout: client_key | server_key | client_salt | server_salt. */
    uint8_t m[88];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)i;
    rtc_srtp_keys local, remote;
    CHECK_EQ_INT(
        rtc_srtp_split_keying_material(RTC_SRTP_AES128_CM_SHA1_80, m, 60, true, &local, &remote),
        RTC_OK);
    CHECK(local.key_len == 16 && local.salt_len == 14 && local.profile == 1);
    CHECK_MEM(local.key, m, 16);
    CHECK_MEM(remote.key, m + 16, 16);
    CHECK_MEM(local.salt, m + 32, 14);
    CHECK_MEM(remote.salt, m + 46, 14);
    CHECK_EQ_INT(
        rtc_srtp_split_keying_material(RTC_SRTP_AEAD_AES_256_GCM, m, 88, false, &local, &remote),
        RTC_OK);
    CHECK_MEM(local.key, m + 32, 32); /* server side: server half is local */
    CHECK_MEM(remote.key, m, 32);
    CHECK_MEM(local.salt, m + 76, 12);
    CHECK_MEM(remote.salt, m + 64, 12);
    CHECK_EQ_INT(
        rtc_srtp_split_keying_material(RTC_SRTP_AEAD_AES_128_GCM, m, 56, true, &local, &remote),
        RTC_OK);
    CHECK_MEM(local.salt, m + 32, 12);
    CHECK_EQ_INT(
        rtc_srtp_split_keying_material(RTC_SRTP_AEAD_AES_128_GCM, m, 60, true, &local, &remote),
        RTC_ERR_INVALID);
    CHECK_EQ_INT(rtc_srtp_split_keying_material(9, m, 60, true, &local, &remote),
                 RTC_ERR_UNSUPPORTED);
}

int main(void) {
    RUN(test_b3_kdf);
    RUN(test_b2_keystream);
    RUN(test_e2e_aes_cm_80);
    RUN(test_rfc7714_16_1);
    RUN(test_rfc7714_17_2);
    RUN(test_rfc7714_16_2_and_17_1);
    RUN(test_profiles_and_split);
    return TEST_DONE();
}
