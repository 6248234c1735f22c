{#
    Data tests that follow the new data.

    On an incremental `dbt build`, a generic data test reads only the rows that builds since the last green test of
    its model could have changed: its `where` config (`__changed_rows__`, set for every test in dbt_project.yml)
    becomes a predicate on those rows. The window is anchored on the same watermark the merges use
    (macros/incremental.sql): the newest ingested_at the tested table held when its tests last passed, minus
    var('lookback_days'). Each merge since then took at least those rows, so the window covers every row it wrote.

    - The marks ("tests of X passed with X's watermark at W") live in a view, <staging>.test_window_marks, written
      by on-run-end (save_test_window_marks) and read by on-run-start (load_test_window_marks). A build that fails
      a test keeps the old mark, so the next build tests the failed build's rows again; a `dbt run` without tests
      leaves the mark, so the next build tests what that run merged too.
    - unique tests: the rows whose key appears among the window's keys, so a duplicate with one old and one new
      copy is still found (a window on the tested rows alone would see the new copy only). On an order-dated table
      (`dated` below), only the order dates such an old copy can be on: the window's own dates, and the correction
      horizon before the window (macros/incremental.sql, correction_dates). An old copy dated before the horizon
      is left to the full sweep, and the reconciliation with silver fails on it when a merge left it
      (docs/decisions/0005-correction-horizon.md). A key that holds the column the window is drawn on (`exact`)
      reads the window's rows alone: both copies of a duplicate have the same value there.
    - relationships: the window's child rows, looked up in the whole parent.
    - Every other generic test (not_null, accepted_range, expression_is_true, ...): the window's rows.
    - Tables without a spec below (small: dim_products, fct_country_monthly_kpis, int_product_months,
      seeds) are always tested whole.
    - The reconciliation with silver (a singular test) has a mark of its own, kept the same way: it compares row
      counts on every order date and values on the dates changed since its mark (macros/reconciliation.sql).
    - A full sweep, every test on every row: `--full-refresh`, `--vars '{full_test_sweep: true}'`, a model with no
      mark yet (first build, or its table was missing at the start), or an invocation that does not read marks
      (`dbt compile`, `dbt show`; var('test_window_preview') shows a compiled window).

    Everything rendered here is plain SQL on both engines: dbt.dateadd, cast(... as timestamp), row-value IN.
#}

{#
    Which relations get a window. `anchor`: the model and column whose newest value is the mark (the watermark
    its merges use); `rows`: the rows of the tested relation a build since the mark could have changed, with
    {start} = mark minus the lookback, and {<model>} = that model's relation (fct_orders, int_order_versions).
    - fct_orders: merged rows are exactly those ingested after {start}.
    - int_order_versions: appended rows are exactly those ingested after {start}.
    - dim_customers: a recomputed customer has an order ingested after {start} (its last_ingested_at is after it),
      or a correction took an order away from it: the previous customers of the versions logged after {start}.
    - gold_orders: whole order dates are recomputed, including grains whose newest order is old (a grain a
      correction moved an order out of): the dates of the order versions logged after {start} and of the versions
      they replaced, as the model finds them.
    - int_customer_months: the same, by month: the months of those versions (its grains hold the month).
    - the silver source and the views over it: the silver rows ingested after {start}, as fct_orders reads them.
    `dated`: a unique test on order_id reads only the correction dates (above); `exact`: a unique test whose key
    holds this column reads only the window's rows (the window is a condition on that column alone).
    `singular`: the name is a singular test's, not a relation's: the mark is that test's own
    (assert_gold_reconciles_with_silver: macros/reconciliation.sql turns it into its window).
#}
{% macro test_window_specs() -%}
    {%- set month_of_order = lakehouse.month_start('order_date') -%}
    {%- set month_of_previous = lakehouse.month_start('previous_order_date') -%}
    {%- set silver_rows = {'anchor': ['fct_orders', 'ingested_at'], 'rows': 'ingested_at > {start}', 'dated': true} -%}
    {{ return({
        'fct_orders': {'anchor': ['fct_orders', 'ingested_at'], 'rows': 'ingested_at > {start}', 'dated': true},
        'int_order_versions': {
            'anchor': ['int_order_versions', 'ingested_at'], 'rows': 'ingested_at > {start}', 'exact': 'ingested_at',
        },
        'dim_customers': {
            'anchor': ['dim_customers', 'last_ingested_at'],
            'rows': 'last_ingested_at > {start} or customer_id in (select previous_customer_id'
                ~ ' from {int_order_versions} where ingested_at > {start})',
        },
        'gold_orders': {
            'anchor': ['gold_orders', 'last_ingested_at'],
            'rows': 'order_date in (select order_date from {int_order_versions} where ingested_at > {start}'
                ~ ' union select previous_order_date from {int_order_versions} where ingested_at > {start}'
                ~ ' union select order_date from {fct_orders} where ingested_at > {start})',
            'exact': 'order_date',
        },
        'int_customer_months': {
            'anchor': ['int_customer_months', 'last_ingested_at'],
            'rows': 'order_month in (select ' ~ month_of_order ~ ' from {int_order_versions}'
                ~ ' where ingested_at > {start} union select ' ~ month_of_previous
                ~ ' from {int_order_versions} where ingested_at > {start} union select order_month from {fct_orders}'
                ~ ' where ingested_at > {start})',
            'exact': 'order_month',
        },
        'silver_orders': silver_rows,
        'stg_orders': silver_rows,
        'int_orders_enriched': silver_rows,
        'assert_gold_reconciles_with_silver': {'anchor': ['fct_orders', 'ingested_at'], 'singular': true},
    }) }}
{%- endmacro %}

{# --full-refresh or var('full_test_sweep'): every test reads every row. #}
{% macro full_test_sweep() -%}
    {{ return(flags.FULL_REFRESH or (var('full_test_sweep', false) | string | lower) in ['true', '1', 'yes']) }}
{%- endmacro %}

{# dbt's hook: the relation a generic test reads, narrowed by its `where` config (`__changed_rows__` expanded). #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') or '' -%}
    {%- if '__changed_rows__' in where -%}
        {%- set changed = lakehouse.changed_rows_predicate(relation) -%}
        {%- set where = '' if (changed is none and where | trim == '__changed_rows__')
            else where | replace('__changed_rows__', '(' ~ (changed or '1 = 1') ~ ')') -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{# The predicate selecting what the running test must read of `relation`, or none for every row. #}
{% macro changed_rows_predicate(relation) -%}
    {%- set spec = lakehouse.test_window_specs().get(relation.identifier) -%}
    {%- set start = lakehouse.test_window_start(relation.identifier) if spec else none -%}
    {%- if start is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set expanded = namespace(rows=spec['rows'] | replace('{start}', start)) -%}
    {%- for name in ['fct_orders', 'int_order_versions'] -%}
        {%- set expanded.rows = expanded.rows | replace('{' ~ name ~ '}', lakehouse.model_relation(name) | string) -%}
    {%- endfor -%}
    {%- set rows = expanded.rows -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- set kwargs = test.get('kwargs') or {} -%}
    {%- if test.get('name') == 'unique' -%}
        {%- set keys = [kwargs['column_name']] -%}
    {%- elif test.get('name') == 'unique_combination_of_columns' -%}
        {%- set keys = kwargs['combination_of_columns'] -%}
    {%- else -%}
        {{ return(rows) }}
    {%- endif -%}
    {%- set key_list = keys | join(', ') -%}
    {%- set sharing = '(' ~ key_list ~ ') in (select ' ~ key_list ~ ' from ' ~ relation ~ ' where ' ~ rows ~ ')' -%}
    {%- if spec.get('exact') in keys -%}
        {{ return('(' ~ rows ~ ')') }}
    {%- elif spec.get('dated') and 'order_id' in keys -%}
        {{ return(sharing ~ ' and ' ~ lakehouse.correction_dates(
            'order_date', 'select order_date, ingested_at from ' ~ relation ~ ' where ' ~ rows, start
        )) }}
    {%- endif -%}
    {{ return(sharing) }}
{%- endmacro %}

{# The window start for `tested` (a SQL timestamp expression: its mark minus the lookback), or none. #}
{% macro test_window_start(tested) -%}
    {%- if not execute or lakehouse.full_test_sweep() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set mark = (graph.get('lakehouse_test_window_marks') or {}).get(tested) -%}
    {%- if mark is none and flags.WHICH == 'compile' -%}
        {#- `dbt compile --vars '{test_window_preview: "2026-01-01 00:00:00"}'`: the SQL an incremental build's tests
            would run with every mark at that time. Compile only, so it never narrows a test that runs. -#}
        {%- set mark = var('test_window_preview', none) -%}
    {%- endif -%}
    {%- if mark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(lakehouse.lookback_start("cast('" ~ mark ~ "' as " ~ lakehouse.type_timestamp() ~ ")") | trim) }}
{%- endmacro %}

{# A model's relation, from the graph (no ref(): a test may look at a model it does not depend on). #}
{% macro model_relation(name) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}

{% macro test_window_marks_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('staging', none),
        identifier='test_window_marks',
        type='view',
    )) }}
{%- endmacro %}

{#
    on-run-start: read the marks once, for the tests of this invocation. A mark whose table is missing is dropped:
    the table will be built whole, so it is tested whole. Kept in `graph`, the one object every node of an
    invocation shares (dbt has no other per-invocation store; data-quality packages use it the same way).
#}
{% macro load_test_window_marks() -%}
    {%- if execute and lakehouse.keeps_test_window_marks() -%}
        {%- set marks = {} -%}
        {%- set stored = lakehouse.test_window_marks_relation() -%}
        {%- set found = adapter.get_relation(stored.database, stored.schema, stored.identifier) -%}
        {%- if found is not none -%}
            {%- set specs = lakehouse.test_window_specs() -%}
            {%- set rows = run_query('select tested, cast(verified_through as varchar) from ' ~ found) -%}
            {%- for tested, verified_through in rows.rows if tested in specs and verified_through -%}
                {%- do lakehouse.check_test_window_mark(tested, verified_through, found) -%}
                {%- set anchor = lakehouse.model_relation(specs[tested]['anchor'][0]) -%}
                {%- if adapter.get_relation(anchor.database, anchor.schema, anchor.identifier) is not none -%}
                    {%- do marks.update({tested: verified_through}) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- do graph.update({'lakehouse_test_window_marks': marks}) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#
    A mark is spliced into the SQL of every windowed test, so it is checked first: a timestamp as the marks view
    stores it (the view is writable by whoever can write the staging database), and not after this run started,
    which would leave every windowed test an empty window that passes. Anything else stops the run, one line.
#}
{% macro check_test_window_mark(tested, mark, relation) -%}
    {%- set text = mark | string -%}
    {%- set now = run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
    {%- set pattern = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,9})?' -%}
    {%- if not modules.re.fullmatch(pattern, text) or text[:19] > now -%}
        {%- do exceptions.raise_compiler_error(
            "the test window mark of " ~ tested ~ " in " ~ relation ~ " is '" ~ text ~ "', not a timestamp before"
            ~ " this run (" ~ now ~ " UTC): drop that view (the next build then tests every row) and build again"
        ) -%}
    {%- endif -%}
{%- endmacro %}

{#
    on-run-end: for each windowed relation whose generic tests all ran and passed (or warned) in this invocation
    (for the reconciliation: that singular test), the mark becomes its anchor's newest watermark now. A model
    rebuilt with --full-refresh and not tested in the same invocation loses its mark (its next tests are a full
    sweep; the reconciliation's, when any model it reads was). Anything else keeps its mark.
#}
{% macro save_test_window_marks(results) -%}
    {%- if execute and lakehouse.keeps_test_window_marks() -%}
        {%- set specs = lakehouse.test_window_specs() -%}
        {%- set status = {} -%}
        {%- for result in results -%}
            {%- do status.update({result.node.unique_id: result.status | string | lower}) -%}
        {%- endfor -%}
        {%- set before = graph.get('lakehouse_test_window_marks') or {} -%}
        {%- set marks = {} -%}
        {%- for tested, spec in specs.items() -%}
            {%- set tests = lakehouse.singular_test_of(tested) if spec.get('singular')
                else lakehouse.generic_tests_of(tested) -%}
            {%- set rebuilt = namespace(whole=false) -%}
            {%- for model_id in lakehouse.models_under_test(tested, tests if spec.get('singular') else none) -%}
                {%- set rebuilt.whole = rebuilt.whole or (status.get(model_id) == 'success' and flags.FULL_REFRESH) -%}
            {%- endfor -%}
            {%- set verified = [] -%}
            {%- for test_id in tests if status.get(test_id) in ['pass', 'warn'] -%}
                {%- do verified.append(test_id) -%}
            {%- endfor -%}
            {%- if tests and verified | length == tests | length -%}
                {%- set anchor = lakehouse.model_relation(spec['anchor'][0]) -%}
                {#- the anchor may be missing although these tests passed (a view's tests, its mart failed) -#}
                {%- set exists = adapter.get_relation(anchor.database, anchor.schema, anchor.identifier) -%}
                {%- set newest = run_query(
                    'select cast(max(' ~ spec['anchor'][1] ~ ') as varchar) from ' ~ anchor
                ).columns[0].values()[0] if exists is not none else none -%}
                {%- if newest -%}
                    {%- do marks.update({tested: newest}) -%}
                {%- endif -%}
            {%- elif tested in before and not rebuilt.whole -%}
                {%- do marks.update({tested: before[tested]}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do lakehouse.write_test_window_marks(marks) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{# Commands that run models or tests against the warehouse (not compile, docs, show, seed, or --no-introspect). #}
{% macro keeps_test_window_marks() -%}
    {{ return(flags.WHICH in ['build', 'test', 'run', 'retry'] and flags.INTROSPECT is not sameas false) }}
{%- endmacro %}

{# The unique_ids of the generic data tests that read `tested` (a model or a source table) through `where`. #}
{% macro generic_tests_of(tested) -%}
    {%- set found = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' and node.test_metadata -%}
        {%- set on = node.attached_node or (node.depends_on.nodes | first) or '' -%}
        {%- if on.split('.')[-1] == tested and on.split('.')[0] in ['model', 'source'] -%}
            {%- do found.append(node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{# The unique_id of the singular data test named `tested` (a list: empty when the project has none). #}
{% macro singular_test_of(tested) -%}
    {%- set found = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' and not node.test_metadata
        and node.name == tested -%}
        {%- do found.append(node.unique_id) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#
    The models whose rebuild with --full-refresh drops the mark of `tested` when its tests did not pass in the same
    invocation: the model itself, or, for a singular test (`tests` given), every model that test reads.
#}
{% macro models_under_test(tested, tests=none) -%}
    {%- if tests is none -%}
        {{ return(['model.' ~ project_name ~ '.' ~ tested]) }}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for test_id in tests -%}
        {%- for node_id in graph.nodes[test_id].depends_on.nodes if node_id.startswith('model.') -%}
            {%- do found.append(node_id) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{% macro write_test_window_marks(marks) -%}
    {%- set stored = lakehouse.test_window_marks_relation() -%}
    {%- if not marks -%}
        {%- do run_query('drop view if exists ' ~ stored) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set selects = [] -%}
    {%- for tested, verified_through in marks | dictsort -%}
        {%- do selects.append(
            "select cast('" ~ tested ~ "' as varchar) as tested, cast('" ~ verified_through ~ "' as "
            ~ lakehouse.type_timestamp() ~ ") as verified_through"
        ) -%}
    {%- endfor -%}
    {%- do adapter.create_schema(stored) -%}
    {%- do run_query('create or replace view ' ~ stored ~ ' as ' ~ selects | join(' union all ')) -%}
{%- endmacro %}
