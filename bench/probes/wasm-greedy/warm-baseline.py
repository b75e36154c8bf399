"""baseline.py's __main__ (read the heat file, plan, write the plan) run N times in one
process: the pure-Python greedy warm, for the same split as warm-cli.cjs and plan-wasm.cjs --warm.

    python3 warm-baseline.py BASELINE.py HEAT.json PLAN.json N

Prints each round's milliseconds as one JSON line.
"""
import importlib.util, json, sys, time

spec = importlib.util.spec_from_file_location("baseline", sys.argv[1])
baseline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(baseline)
ms = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter()
    inp = json.load(open(sys.argv[2]))
    p = baseline.plan(inp)
    json.dump(p, open(sys.argv[3], "w"))
    ms.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ms": ms}))
