#!/usr/bin/env bash
# Resource library benchmarks, side by side with DuckDB in one run (issue 3):
#  1. ingest a generated ROWS-row CSV into a new Delta table vs DuckDB converting the same
#     CSV to Parquet (rows/s and ratio)
#  2. a group-by over the table grown to ROWS x COPIES rows (the CSV appended again), through
#     Tongshu's query path vs DuckDB over the table's own Parquet files (times and ratio)
#  3. peak memory (RSS) of ingesting a CSV of at least 2 GB (the CSV repeated RSS_COPIES times)
# Usage: bench/library.sh [ROWS] [COPIES] [RSS_COPIES]   (defaults 10,000,000 10 3, as the
# issue asks: 10M-row ingest, 100M-row group-by, a >= 2 GB CSV)
# Needs a release build (cargo build --release) and pip's duckdb (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
copies=${2:-10}
rss_copies=${3:-3}
bin=${TONGSHU_BIN:-${CARGO_TARGET_DIR:-target}/release/tongshu}
[ -x "$bin" ] || { echo "build first: cargo build --release"; exit 1; }
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check duckdb
work=$(mktemp -d "${BENCH_DIR:-/tmp}/tongshu-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
csv="$work/data.csv"
echo "== generating $rows rows"
python3 bench/gen_csv.py "$rows" "$csv"
size=$(stat -c %s "$csv")
echo "   $size bytes of CSV"
now() { date +%s.%N; }
since() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$(now)"; }

export TONGSHU_LOG=warn
"$bin" demo --data-dir "$work/d" --rows 10 >/dev/null   # an administrator to ingest as

echo "== 1. ingest $rows rows"
start=$(now)
"$bin" ingest --data-dir "$work/d" --table bench --file "$csv" --create >/dev/null 2>"$work/ingest.err" \
  || { cat "$work/ingest.err"; exit 1; }
t_ingest=$(since "$start")
t_duck=$(python3 - "$csv" "$work/duck.parquet" <<'PY'
import sys, time, duckdb
start = time.time()
duckdb.sql(f"COPY (SELECT * FROM read_csv_auto('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT PARQUET)")
print(time.time() - start)
PY
)
rm -f "$work/duck.parquet"

echo "== 2. group-by over $((rows * copies)) rows"
# The first append is timed too (an ingest into a table that exists).
start=$(now)
"$bin" ingest --data-dir "$work/d" --table bench --file "$csv" >/dev/null
t_append=$(since "$start")
for _ in $(seq 3 "$copies"); do
  "$bin" ingest --data-dir "$work/d" --table bench --file "$csv" >/dev/null
done
uri=$("$bin" table info bench --data-dir "$work/d" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['uri'])")
dir=${uri#file://}
table_rows=$("$bin" table info bench --data-dir "$work/d" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['rows'])")
query='SELECT "区县", "险种", COUNT(*) AS n, SUM("缴费金额") AS s, AVG("缴费基数") AS a FROM bench GROUP BY "区县", "险种" ORDER BY "区县", "险种"'
"$bin" sql --data-dir "$work/d" --format csv "$query" >/dev/null  # warm the page cache
best_q=""
for _ in 1 2 3; do
  start=$(now)
  "$bin" sql --data-dir "$work/d" --format csv "$query" >/dev/null
  t=$(since "$start")
  best_q=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(a), float(sys.argv[2])) if a else sys.argv[2])" "$best_q" "$t")
done
t_duck_query=$(python3 - "$dir" "$query" <<'PY'
import sys, time, duckdb
con = duckdb.connect()
con.sql(f"CREATE VIEW bench AS SELECT * FROM read_parquet('{sys.argv[1]}/*.parquet')")
con.sql(sys.argv[2]).fetchall()  # warm
best = min((lambda s: (con.sql(sys.argv[2]).fetchall(), time.time() - s)[1])(time.time()) for _ in range(3))
print(best)
PY
)

echo "== 3. peak memory of a large ingest"
big="$work/big.csv"
cp "$csv" "$big"
for _ in $(seq 2 "$rss_copies"); do tail -n +2 "$csv" >> "$big"; done
rm -f "$csv"
big_size=$(stat -c %s "$big")
/usr/bin/time -f "%M" -o "$work/rss" "$bin" ingest --data-dir "$work/d" --table big --file "$big" --create >/dev/null
rss_kb=$(tail -n 1 "$work/rss")

python3 - "$rows" "$t_ingest" "$t_duck" "$table_rows" "$best_q" "$t_duck_query" "$rss_kb" "$big_size" "$t_append" <<'PY'
import sys
rows = int(sys.argv[1])
ti, td = float(sys.argv[2]), float(sys.argv[3])
table_rows = int(sys.argv[4])
tq, tdq, rss, big = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
ta = float(sys.argv[9])
print(f"ingest   {rows:,} rows: tongshu {ti:7.2f} s {rows/ti:12,.0f} rows/s | duckdb csv->parquet {td:7.2f} s {rows/td:12,.0f} rows/s | tongshu at {td/ti:.2f}x duckdb's speed (target >= 0.5)")
print(f"  the same rows appended to the existing table: {ta:7.2f} s {rows/ta:12,.0f} rows/s | {td/ta:.2f}x duckdb's speed")
print(f"group-by {table_rows:,} rows: tongshu {tq:7.3f} s (whole command, best of 3) | duckdb {tdq:7.3f} s (best of 3) | tongshu/duckdb {tq/tdq:.2f}x (target <= 1.5)")
print(f"ingest of a {big/2**30:.2f} GiB CSV: peak RSS {rss/1024:,.0f} MiB (target <= 2048 MiB)")
PY
