"""What cutting the data flows to each market participant costs against the settle (pipelines/bench/participants.py):

    .venv/bin/python bench/participant_flows.py --mpans 1000000
"""

from pipelines.bench.participants import main

if __name__ == "__main__":
    main()
