# RPM macros of specgen's cmake package. They behave as Azure Linux 3.0's own macros.cmake,
# which this package replaces: configure in the source tree unless a spec undefines
# %__cmake_in_source_build, shared libraries on, the distribution's install directories.
%_cmake_version @CMAKE_VERSION@
%__cmake %{_bindir}/cmake
%__ctest %{_bindir}/ctest
%_cmake_skip_rpath -DCMAKE_SKIP_RPATH:BOOL=ON
%__cmake_in_source_build 1
%__cmake_builddir %{?__cmake_in_source_build:.}%{!?__cmake_in_source_build:%{_vpath_builddir}}

%cmake \
  CFLAGS="${CFLAGS:-%{optflags}}"; export CFLAGS; \
  CXXFLAGS="${CXXFLAGS:-%{optflags}}"; export CXXFLAGS; \
  %{?__global_ldflags:LDFLAGS="${LDFLAGS:-%{__global_ldflags}}"; export LDFLAGS;} \
  %{__cmake} \\\
    -DCMAKE_VERBOSE_MAKEFILE:BOOL=ON \\\
    -DCMAKE_INSTALL_PREFIX:PATH=%{_prefix} \\\
    -DCMAKE_INSTALL_LIBDIR:PATH=%{_lib} \\\
    -DINCLUDE_INSTALL_DIR:PATH=%{_includedir} \\\
    -DLIB_INSTALL_DIR:PATH=%{_libdir} \\\
    -DSYSCONF_INSTALL_DIR:PATH=%{_sysconfdir} \\\
    -DSHARE_INSTALL_PREFIX:PATH=%{_datadir} \\\
    -DBUILD_SHARED_LIBS:BOOL=ON \\\
    -B "%{__cmake_builddir}"

%cmake_build %{__cmake} --build "%{__cmake_builddir}" %{?_smp_mflags} --verbose

%cmake_install DESTDIR="%{buildroot}" %{__cmake} --install "%{__cmake_builddir}"

%ctest(:-:) \
  cd "%{__cmake_builddir}" \
  %{__ctest} --output-on-failure --force-new-ctest-process %{?_smp_mflags} %{**} \
  cd -
