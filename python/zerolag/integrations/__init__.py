"""Optional integrations with other frameworks, each behind its own extra
(``pip install zerolag[langchain]``): importing one without its framework installed raises
ImportError naming the extra."""
