"""Stage 1, recipe: what Triton's `build.py --dryrun` wrote in, one typed Recipe out.

In: the generated Dockerfiles and cmake_build script (a folder or single files). Out: a Recipe
(model.py): images, their apt/pip packages and downloads, the CMake projects with their options.
Nothing here knows Azure Linux or RPM; only Docker's and bash's rules. The embedded recipes in
data/recipes/ are this stage's output for each release, saved (embed.py).
"""
