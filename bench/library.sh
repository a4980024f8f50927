#!/usr/bin/env bash
# Resource library benchmarks, side by side with DuckDB in one run (issue 3):
#  1. ingest a generated CSV into a Delta table vs DuckDB converting the same CSV to Parquet
#  2. a group-by over the table through Tongshu's query path vs DuckDB over the same Parquet
#  3. peak memory (RSS) of the ingest
# Usage: bench/library.sh [ROWS]   (default 10,000,000; the issue's group-by uses 100,000,000)
# Needs a release build (cargo build --release) and pip's duckdb (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
bin=${TONGSHU_BIN:-${CARGO_TARGET_DIR:-target}/release/tongshu}
[ -x "$bin" ] || { echo "build first: cargo build --release"; exit 1; }
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check duckdb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
csv="$work/data.csv"
echo "== generating $rows rows"
python3 bench/gen_csv.py "$rows" "$csv"
size=$(stat -c %s "$csv")
echo "   $size bytes of CSV"

export TONGSHU_LOG=warn
"$bin" demo --data-dir "$work/d" --rows 10 >/dev/null   # an administrator to ingest as

echo "== 1. ingest"
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$work/rss" "$bin" ingest --data-dir "$work/d" --table bench --file "$csv" --create >/dev/null 2>"$work/ingest.err" \
  || { cat "$work/ingest.err"; exit 1; }
end=$(date +%s.%N)
t_ingest=$(python3 -c "print($end - $start)")
rss_kb=$(tail -n 1 "$work/rss")
uri=$("$bin" table info bench --data-dir "$work/d" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['uri'])")
dir=${uri#file://}

t_duck=$(python3 - "$csv" "$work/duck.parquet" <<'PY'
import sys, time, duckdb
start = time.time()
duckdb.sql(f"COPY (SELECT * FROM read_csv_auto('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT PARQUET)")
print(time.time() - start)
PY
)

echo "== 2. group-by"
query='SELECT "区县", "险种", COUNT(*) AS n, SUM("缴费金额") AS s, AVG("缴费基数") AS a FROM bench GROUP BY "区县", "险种" ORDER BY "区县", "险种"'
"$bin" sql --data-dir "$work/d" --format csv "$query" >/dev/null  # warm the page cache
start=$(date +%s.%N)
"$bin" sql --data-dir "$work/d" --format csv "$query" >/dev/null
end=$(date +%s.%N)
t_query=$(python3 -c "print($end - $start)")
t_duck_query=$(python3 - "$dir" "$query" <<'PY'
import sys, time, duckdb
con = duckdb.connect()
con.sql(f"CREATE VIEW bench AS SELECT * FROM read_parquet('{sys.argv[1]}/*.parquet')")
con.sql(sys.argv[2]).fetchall()  # warm
start = time.time()
con.sql(sys.argv[2]).fetchall()
print(time.time() - start)
PY
)

python3 - "$rows" "$size" "$t_ingest" "$t_duck" "$t_query" "$t_duck_query" "$rss_kb" <<'PY'
import sys
rows, size = int(sys.argv[1]), int(sys.argv[2])
ti, td, tq, tdq, rss = map(float, sys.argv[3:8])
print(f"ingest   tongshu {ti:7.2f} s  {rows/ti:12,.0f} rows/s | duckdb csv->parquet {td:7.2f} s  {rows/td:12,.0f} rows/s | ratio {td/ti:.2f}x of duckdb's speed (target >= 0.5)")
print(f"group-by tongshu {tq:7.3f} s (whole command) | duckdb {tdq:7.3f} s | tongshu/duckdb {tq/tdq:.2f}x (target <= 1.5)")
print(f"ingest peak RSS {rss/1024:,.0f} MiB for a {size/2**30:.2f} GiB CSV (target <= 2048 MiB)")
PY
