"""The LMS: class lists, submission zips in, grade sheets out."""
