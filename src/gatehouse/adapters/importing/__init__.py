"""Reading contact files (CSV in any common encoding and delimiter, XLSX) as streams of rows."""
