"""The machinery that runs claims: the claim record and registry, run_claim, implementations and their contract
guard, statistics, profiles, calibration and the pytest plugin."""
