/* test_xlpod_crijoin.c - xl-pod logs: CRI prefixes stripped, partial chunks joined. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../xl-plugin/crijoin.c" /* pure logic, not in libxenlet.a */

#define TS1 "2026-11-29T03:40:00.000000001Z"
#define TS2 "2026-11-29T03:40:00.500000000Z"

static void full_lines_lose_their_prefix(void **state)
{
	struct xlp_crijoin j = {0};
	const char *out;

	assert_true(xlp_crijoin_feed(&j, TS1 " stdout F hello world", &out));
	assert_string_equal(out, "hello world");
	assert_true(xlp_crijoin_feed(&j, TS2 " stdout F ", &out));
	assert_string_equal(out, "");
	assert_true(xlp_crijoin_feed(&j, TS2 " stdout F", &out)); /* empty, no space */
	assert_string_equal(out, "");
	assert_false(xlp_crijoin_flush(&j, &out));
	xlp_crijoin_dispose(&j);
}

static void partial_chunks_join_with_the_next_line(void **state)
{
	struct xlp_crijoin j = {0};
	const char *out;

	assert_false(xlp_crijoin_feed(&j, TS1 " stdout P abc", &out));
	assert_false(xlp_crijoin_feed(&j, TS2 " stdout P def", &out));
	assert_true(xlp_crijoin_feed(&j, TS2 " stdout F ghi", &out));
	assert_string_equal(out, "abcdefghi");
	assert_true(xlp_crijoin_feed(&j, TS2 " stdout F next", &out));
	assert_string_equal(out, "next");
	xlp_crijoin_dispose(&j);
}

static void timestamps_of_the_first_chunk(void **state)
{
	struct xlp_crijoin j = {.timestamps = true};
	const char *out;

	assert_true(xlp_crijoin_feed(&j, TS1 " stdout F one", &out));
	assert_string_equal(out, TS1 " one");
	assert_false(xlp_crijoin_feed(&j, TS1 " stdout P tw", &out));
	assert_true(xlp_crijoin_feed(&j, TS2 " stdout F o", &out));
	assert_string_equal(out, TS1 " two");
	xlp_crijoin_dispose(&j);
}

static void trailing_partial_is_flushed(void **state)
{
	struct xlp_crijoin j = {0};
	const char *out;

	assert_false(xlp_crijoin_feed(&j, TS1 " stdout P no newline", &out));
	assert_true(xlp_crijoin_flush(&j, &out));
	assert_string_equal(out, "no newline");
	assert_false(xlp_crijoin_flush(&j, &out));
	xlp_crijoin_dispose(&j);
}

static void other_lines_pass_through(void **state)
{
	struct xlp_crijoin j = {.timestamps = true};
	const char *out;

	assert_true(xlp_crijoin_feed(&j, "garbage", &out));
	assert_string_equal(out, "garbage");
	assert_true(xlp_crijoin_feed(&j, TS1 " stdout X text", &out));
	assert_string_equal(out, TS1 " stdout X text");
	assert_true(xlp_crijoin_feed(&j, "", &out));
	assert_string_equal(out, "");
	/* pending chunks end at a damaged line; both are shown */
	assert_false(xlp_crijoin_feed(&j, TS1 " stdout P half", &out));
	assert_true(xlp_crijoin_feed(&j, "damaged", &out));
	assert_string_equal(out, TS1 " half\ndamaged");
	xlp_crijoin_dispose(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_lines_lose_their_prefix),
	    cmocka_unit_test(partial_chunks_join_with_the_next_line),
	    cmocka_unit_test(timestamps_of_the_first_chunk),
	    cmocka_unit_test(trailing_partial_is_flushed),
	    cmocka_unit_test(other_lines_pass_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
