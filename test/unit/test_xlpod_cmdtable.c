/* test_xlpod_cmdtable.c - xl-pod's command lookup: exact names, prefixes, ambiguity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* cmdtable.c is pure logic; the handlers it names live in files that need a
 * daemon, so the test brings stand-ins. */
#include "../../xl-plugin/cmdtable.c"

#define STUB(f)                                                                                    \
	int f(int argc, char **argv)                                                               \
	{                                                                                          \
		return 0;                                                                          \
	}
STUB(main_list)
STUB(main_create)
STUB(main_destroy)
STUB(main_pause)
STUB(main_unpause)
STUB(main_logs)
STUB(main_console)
STUB(main_node)
STUB(main_image)
STUB(main_version)
STUB(main_help)

static const struct cmd_spec demo[] = {
    {"destroy", NULL, false, "", "", ""},
    {"describe", NULL, false, "", "", ""},
    {"list", NULL, false, "", "", ""},
    {"li", NULL, false, "", "", ""}, /* an exact name that is also a prefix of another */
};

static const struct cmd_spec *find(const struct cmd_spec *t, size_t n, const char *name, char *msg)
{
	memset(msg, 0, 256);
	return xlp_cmd_find(t, n, name, msg, 256);
}

static void exact_and_unique_prefix(void **state)
{
	char msg[256];

	assert_string_equal(find(demo, 4, "destroy", msg)->name, "destroy");
	assert_string_equal(find(demo, 4, "dest", msg)->name, "destroy");
	assert_string_equal(find(demo, 4, "desc", msg)->name, "describe");
	assert_string_equal(find(demo, 4, "lis", msg)->name, "list");
}

static void exact_name_beats_prefix(void **state)
{
	char msg[256];

	assert_string_equal(find(demo, 4, "li", msg)->name, "li");
}

static void ambiguous_prefix_names_every_candidate(void **state)
{
	char msg[256];

	assert_null(find(demo, 4, "de", msg));
	assert_string_equal(msg, "ambiguous command: de, could be: destroy, describe");
	assert_null(find(demo, 4, "l", msg));
	assert_string_equal(msg, "ambiguous command: l, could be: list, li");
}

static void unknown_and_empty(void **state)
{
	char msg[256];

	assert_null(find(demo, 4, "start", msg));
	assert_string_equal(msg, "unknown command: start");
	assert_null(find(demo, 4, "destroyx", msg));
	assert_string_equal(msg, "unknown command: destroyx");
	assert_null(find(demo, 4, "", msg));
	assert_string_equal(msg, "empty command name");
}

static void long_candidate_list_is_truncated_safely(void **state)
{
	char msg[40];

	assert_null(xlp_cmd_find(demo, 4, "d", msg, sizeof(msg)));
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	assert_memory_equal(msg, "ambiguous command: d, could be: ", 32);
}

/* The real table: what an operator types. */
static void real_table_prefixes(void **state)
{
	char msg[256];
	const size_t n = xlp_cmd_table_len;

	assert_string_equal(find(xlp_cmd_table, n, "d", msg)->name, "destroy");
	assert_string_equal(find(xlp_cmd_table, n, "cr", msg)->name, "create");
	assert_string_equal(find(xlp_cmd_table, n, "co", msg)->name, "console");
	assert_string_equal(find(xlp_cmd_table, n, "lo", msg)->name, "logs");
	assert_string_equal(find(xlp_cmd_table, n, "n", msg)->name, "node");
	assert_null(find(xlp_cmd_table, n, "c", msg));
	assert_string_equal(msg, "ambiguous command: c, could be: create, console");
	assert_null(find(xlp_cmd_table, n, "l", msg));
	assert_string_equal(msg, "ambiguous command: l, could be: list, logs");
}

/* Every entry can be reached by its full name and carries its help text. */
static void real_table_is_complete(void **state)
{
	char msg[256];

	for (size_t i = 0; i < xlp_cmd_table_len; i++) {
		const struct cmd_spec *c = &xlp_cmd_table[i];

		assert_ptr_equal(find(xlp_cmd_table, xlp_cmd_table_len, c->name, msg), c);
		assert_non_null(c->handler);
		assert_true(strlen(c->desc) > 0);
		assert_non_null(c->usage);
		assert_non_null(c->options);
	}
	/* -N is for create only */
	for (size_t i = 0; i < xlp_cmd_table_len; i++)
		assert_int_equal(xlp_cmd_table[i].can_dryrun,
				 strcmp(xlp_cmd_table[i].name, "create") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exact_and_unique_prefix),
	    cmocka_unit_test(exact_name_beats_prefix),
	    cmocka_unit_test(ambiguous_prefix_names_every_candidate),
	    cmocka_unit_test(unknown_and_empty),
	    cmocka_unit_test(long_candidate_list_is_truncated_safely),
	    cmocka_unit_test(real_table_prefixes),
	    cmocka_unit_test(real_table_is_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
