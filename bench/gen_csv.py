"""Writes a CSV of N rows with mixed columns (Chinese text, integers, decimals, dates).

Usage: python3 gen_csv.py ROWS PATH
"""
import random
import sys

rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20221126)
districts = ["兰山区", "罗庄区", "河东区", "沂南县", "郯城县", "沂水县", "兰陵县", "费县", "平邑县", "莒南县", "蒙阴县", "临沭县"]
codes = ["371302", "371311", "371312", "371321", "371322", "371323", "371324", "371325", "371326", "371327", "371328", "371329"]
kinds = ["企业职工养老保险", "城乡居民养老保险", "失业保险", "工伤保险", "职工医疗保险"]
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("编号,区县,区划代码,险种,姓名,缴费基数,缴费月数,缴费金额,参保日期\n")
    for i in range(rows):
        d = rng.randrange(12)
        base = rng.randrange(3000, 30000)
        months = rng.randrange(1, 13)
        f.write(
            f"{i},{districts[d]},{codes[d]},{kinds[rng.randrange(5)]},"
            f"{'王李张刘陈杨赵黄周吴'[rng.randrange(10)]}{'伟芳娜敏静丽强磊军洋'[rng.randrange(10)]},"
            f"{base}.{rng.randrange(100):02d},{months},{base * months * 0.08:.2f},"
            f"{2000 + rng.randrange(25)}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}\n"
        )
