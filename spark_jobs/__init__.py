"""Batch jobs on PySpark, run by the Airflow DAGs in `dags/` (one module per job, each with a CLI)."""
