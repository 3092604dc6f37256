/* SPDX-License-Identifier: BSD-3-Clause */
/* The configuration reference cannot drift from the loader: every key of
 * the loader's own table (agent_config_keys) has its row in docs/config.md,
 * in its section's table ("| `key` |" under "## section", "## Top level"
 * for the top level), and its entry in agentd.conf(5) (".BR section.key",
 * the top level's and a route's keys as ".BR key"); and every row of a
 * section's table in docs/config.md is a key the loader knows. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <agent_config.h>

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The text of section SECTION of config.md: from its "## " heading to the
 * next one (a copy). */
static char *md_section(const char *md, const char *section)
{
	char heading[128];
	const char *start, *end;

	snprintf(heading, sizeof(heading), "\n## %s\n", section[0] ? section : "Top level");
	start = strstr(md, heading);
	if (start == NULL)
		return NULL;
	start += strlen(heading);
	end = strstr(start, "\n## ");
	if (end == NULL)
		end = start + strlen(start);
	return strndup(start, (size_t)(end - start));
}

struct ctx {
	char *md, *man;
	int checked;
	char known[128][80]; /* "section key" */
	int n_known;
};

/* docs/config.md's "## Reloading" table: a row per kind of key, each
 * naming its keys; KEY must be in the row of HOW and in no other. */
static void check_reload_row(struct ctx *c, const char *key, enum agent_cfg_apply how)
{
	static const char *const rows[] = {
	    [CFG_APPLY_LIVE] = "| applied at once |",
	    [CFG_APPLY_DATAPLANE] = "| at the next dataplane start |",
	    [CFG_APPLY_AGENTD] = "| only by restarting agentd |",
	};
	char *sec = md_section(c->md, "Reloading"), quoted[96];

	if (sec == NULL)
		fail_msg("docs/config.md has no section \"## Reloading\"");
	snprintf(quoted, sizeof(quoted), "`%s`", key);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const char *row = strstr(sec, rows[r]);
		const char *eol = row ? strchr(row, '\n') : NULL;
		char *line;

		if (row == NULL)
			fail_msg("docs/config.md, Reloading: no row \"%s\"", rows[r]);
		line = strndup(row, eol ? (size_t)(eol - row) : strlen(row));
		if ((strstr(line, quoted) != NULL) != (r == how))
			fail_msg("docs/config.md, Reloading: %s %s the row \"%s\" (the loader "
				 "says: %s)",
				 quoted, r == how ? "missing from" : "wrongly in", rows[r],
				 agent_cfg_apply_name(how));
		free(line);
	}
	free(sec);
}

static void check_key(const char *section, const char *key, enum agent_cfg_apply how, void *arg)
{
	struct ctx *c = arg;
	char row[96], pat[160], dotted[96];
	regex_t re;

	/* lists of groups ("routes", "bridges", "vlans"): a row at the top
	 * level, their keys in a section of their own, reloaded as one list */
	bool list =
	    strcmp(key, "routes") == 0 || strcmp(key, "bridges") == 0 || strcmp(key, "vlans") == 0;

	/* what a reload does: per key, the lists as one (a list in a group,
	 * "nic.members", too) */
	if (strcmp(section, "routes") != 0 && strcmp(section, "bridges") != 0 &&
	    strcmp(section, "vlans") != 0 && strchr(section, '.') == NULL &&
	    (section[0] != '\0' || strcmp(key, "log_level") == 0 || list)) {
		snprintf(dotted, sizeof(dotted), "%s%s%s", section, section[0] ? "." : "", key);
		check_reload_row(c, dotted, how);
	}

	/* a group's own name at the top level is its section, not a row */
	if (section[0] == '\0' && strcmp(key, "log_level") != 0 && !list) {
		char *sec = md_section(c->md, key);
		if (sec == NULL)
			fail_msg("docs/config.md has no section \"## %s\"", key);
		free(sec);
		return;
	}
	snprintf(c->known[c->n_known++], sizeof(c->known[0]), "%s %s", section, key);

	char *sec = md_section(c->md, section);
	if (sec == NULL)
		fail_msg("docs/config.md has no section for \"%s\"", section);
	snprintf(row, sizeof(row), "\n| `%s` |", key);
	if (strstr(sec, row) == NULL && strncmp(sec, row + 1, strlen(row) - 1) != 0)
		fail_msg("docs/config.md, section %s: no row for key \"%s\"",
			 section[0] ? section : "Top level", key);
	free(sec);

	if (section[0] && strcmp(section, "routes") != 0)
		snprintf(pat, sizeof(pat), "^\\.BR? .*\\<%s\\.%s\\>", section, key);
	else
		snprintf(pat, sizeof(pat), "^\\.BR? %s\\>", key);
	assert_int_equal(regcomp(&re, pat, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	if (regexec(&re, c->man, 0, NULL, 0) != 0)
		fail_msg("agentd.conf(5) has no entry for %s%s%s", section, section[0] ? "." : "",
			 key);
	regfree(&re);
	c->checked++;
}

static void test_every_key_documented(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	c->md = slurp(DOCS_DIR "/config.md");
	c->man = slurp(DOCS_DIR "/man/agentd.conf.5");
	agent_config_keys(check_key, c);
	assert_true(c->checked > 40);

	/* and no row documents a key the loader does not know */
	static const char *const sections[] = {
	    "",	   "control", "dataplane", "nic",     "exception", "bridge",	 "routes",
	    "bpf", "fib",     "fallback",  "bridges", "vlans",	   "nic.members"};
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		char *sec = md_section(c->md, sections[s]), *line, *save = NULL;
		assert_non_null(sec);
		for (line = strtok_r(sec, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char key[64], want[80];
			if (sscanf(line, "| `%63[a-z0-9_]` |", key) != 1)
				continue;
			snprintf(want, sizeof(want), "%s %s", sections[s], key);
			int found = 0;
			for (int i = 0; i < c->n_known; i++)
				found |= strcmp(c->known[i], want) == 0;
			if (!found)
				fail_msg("docs/config.md, section %s: row for \"%s\", which the "
					 "loader does not know",
					 sections[s][0] ? sections[s] : "Top level", key);
		}
		free(sec);
	}
	free(c->md);
	free(c->man);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_key_documented)};
	return cmocka_run_group_tests_name("config_docs", tests, NULL, NULL);
}
