"""Stage 3, mapping: the Recipe's Ubuntu packages in, Azure Linux 3.0 packages out, verified.

In: the apt and pip packages and downloads of the Recipe, the mapping table
(data/ubuntu-to-azurelinux.toml, read by table.py) and repository metadata: the shipped offline
snapshot (snapshot.py) or live repodata (repodata.py, cached by repocache.py), indexed by
pkgindex.py. Out: one Resolution per package (resolver.py), each checked against that metadata,
and the image packages that the generated specs depend on (imagedeps.py). For a name the table
lacks, `map --by-content` reads what the Ubuntu package contains from Ubuntu's archive
(ubuntuarchive.py, debindex.py, debcontent.py) and matches it in the metadata (bycontent.py).
"""
