// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test.h"
#include "test_audit_fixture.h"
#include "audit/keys.h"
#include "audit/note.h"

/* golang.org/x/mod/sumdb/note's published example (note_test.go) */
#define PN_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PN_TEXT                                                      \
	"If you think cryptography is the answer to your problem,\n" \
	"then you don't know what your problem is.\n"
#define PN_SIG                                                                              \
	"\n\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1" \
	"FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

TEST(audit_note_go_reference_vector)
{
	static const char note[] = PN_TEXT PN_SIG;
	struct audit_key *k;
	char vkey[AUDIT_VKEY_LEN], bad[sizeof(note)];
	size_t body = 0;

	ASSERT_EQ(audit_key_from_vkey(PN_VKEY, &k), 0);
	/* the key id is derived (C2SP), not copied: re-encoding gives the same string */
	audit_key_vkey(k, vkey, sizeof(vkey));
	ASSERT_STREQ(vkey, PN_VKEY);
	ASSERT_EQ(note_verify(note, strlen(note), k, &body), 0);
	ASSERT_UEQ(body, strlen(PN_TEXT));
	memcpy(bad, note, sizeof(note));
	bad[3] ^= 1; /* one bit of the text */
	ASSERT_EQ(note_verify(bad, strlen(bad), k, &body), -EKEYREJECTED);
	audit_key_free(k);
	/* a wrong key id in the vkey is refused */
	ASSERT_EQ(audit_key_from_vkey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
				      "LDE4izWy10TW",
				      &k),
		  -EINVAL);
	ASSERT_EQ(audit_key_from_vkey("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
				      "LDE4izWy10T",
				      &k),
		  -EINVAL);
}

TEST(audit_note_checkpoint_sign_verify_and_forgery)
{
	const char *dir = fx_tmpdir(), *dir2 = fx_tmpdir();
	struct audit_key *k, *k2, *pub;
	struct note_checkpoint cp;
	uint8_t root[32];
	char note[NOTE_MAX], vkey[AUDIT_VKEY_LEN], forged[NOTE_MAX];
	static const char prefix[] = "example.com/log\n20852163\n"
				     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
				     "\n\xe2\x80\x94 example.com/log ";
	int n, n2;

	ASSERT_TRUE(dir && dir2);
	ASSERT_EQ(audit_key_load(dir, "example.com/log", false, &k), -ENOENT);
	ASSERT_EQ(audit_key_load(dir, "example.com/log", true, &k), 0);
	ASSERT_TRUE(audit_key_has_private(k));
	for (int i = 0; i < 32; i++)
		root[i] = (uint8_t)i;
	n = note_sign_checkpoint(k, "example.com/log", 20852163, root, note, sizeof(note));
	ASSERT_TRUE(n > 0);
	ASSERT_TRUE(strncmp(note, prefix, strlen(prefix)) == 0);
	/* verification needs only the public vkey */
	audit_key_vkey(k, vkey, sizeof(vkey));
	ASSERT_EQ(audit_key_from_vkey(vkey, &pub), 0);
	ASSERT_TRUE(!audit_key_has_private(pub));
	ASSERT_EQ(note_verify_checkpoint(note, (size_t)n, pub, &cp), 0);
	ASSERT_STREQ(cp.origin, "example.com/log");
	ASSERT_UEQ(cp.size, 20852163);
	ASSERT_MEMEQ(cp.root, root, 32);

	/* another key under the same name: its signature line is refused */
	ASSERT_EQ(audit_key_load(dir2, "example.com/log", true, &k2), 0);
	n2 = note_sign_checkpoint(k2, "example.com/log", 20852163, root, forged, sizeof(forged));
	ASSERT_TRUE(n2 > 0);
	ASSERT_EQ(note_verify_checkpoint(forged, (size_t)n2, pub, &cp), -ENOKEY);
	/* the right key id with a signature over other text */
	memcpy(forged, note, (size_t)n + 1);
	forged[17] = '9'; /* size 20852163 -> 29852163 */
	ASSERT_EQ(note_verify_checkpoint(forged, (size_t)n, pub, &cp), -EKEYREJECTED);
	/* a flipped signature byte */
	memcpy(forged, note, (size_t)n + 1);
	forged[n - 10] = forged[n - 10] == 'A' ? 'B' : 'A';
	ASSERT_EQ(note_verify_checkpoint(forged, (size_t)n, pub, &cp), -EKEYREJECTED);
	/* no blank line / no signature */
	ASSERT_EQ(note_verify_checkpoint(note, 60, pub, &cp), -EBADMSG);
	audit_key_free(k);
	audit_key_free(k2);
	audit_key_free(pub);
}

TEST(audit_keys_file_modes_and_reload)
{
	const char *dir = fx_tmpdir();
	char path[256], fp1[AUDIT_FINGERPRINT_LEN], fp2[AUDIT_FINGERPRINT_LEN];
	struct audit_key *k, *k2;
	struct stat st;

	ASSERT_TRUE(dir != NULL);
	ASSERT_EQ(audit_key_load(dir, "h/llmtap", true, &k), 0);
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/signing.pub", dir);
	ASSERT_EQ(stat(path, &st), 0);
	/* the same key comes back */
	ASSERT_EQ(audit_key_load(dir, "h/llmtap", true, &k2), 0);
	audit_key_fingerprint(k, fp1, sizeof(fp1));
	audit_key_fingerprint(k2, fp2, sizeof(fp2));
	ASSERT_STREQ(fp1, fp2);
	ASSERT_TRUE(strncmp(fp1, "SHA256:", 7) == 0 && strlen(fp1) == 7 + 43);
	audit_key_free(k2);
	/* the public file alone gives the same key */
	ASSERT_EQ(audit_key_from_pub_file(path, "h/llmtap", &k2), 0);
	ASSERT_MEMEQ(audit_key_pub(k2), audit_key_pub(k), 32);
	audit_key_free(k2);
	audit_key_free(k);
	/* readable by group: refused */
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	ASSERT_EQ(chmod(path, 0640), 0);
	ASSERT_EQ(audit_key_load(dir, "h/llmtap", true, &k), -EPERM);
	ASSERT_EQ(chmod(path, 0600), 0);
	/* a writable-by-others state dir: refused */
	ASSERT_EQ(chmod(dir, 0777), 0);
	ASSERT_EQ(audit_key_load(dir, "h/llmtap", true, &k), -EPERM);
	ASSERT_EQ(chmod(dir, 0700), 0);
	/* names with whitespace or '+' are not key names */
	ASSERT_EQ(audit_key_load(dir, "bad name", true, &k), -EINVAL);
	ASSERT_EQ(audit_key_load(dir, "bad+name", true, &k), -EINVAL);
}
