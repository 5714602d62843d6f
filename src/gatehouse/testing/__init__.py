"""Test helpers shipped in the package: builders and scripted engines."""
