"""Weekly KPI reports for each ministry and municipality: figures from the dbt marts, a PDF and an XLSX, by e-mail."""
