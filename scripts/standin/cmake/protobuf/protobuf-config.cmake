# Stand-in build root only (Debian 12): the CMake package protobuf installs when it is built with
# CMake, as Azure Linux's protobuf 25.3 is. Debian's 3.21 is built with autotools and ships none,
# but Triton asks for find_package(Protobuf CONFIG). CMake's own FindProtobuf module defines the
# same names Triton uses: protobuf::libprotobuf, protobuf::protoc, protobuf_generate_cpp(),
# Protobuf_VERSION and Protobuf_INCLUDE_DIRS.
find_package(Protobuf MODULE REQUIRED)
set(protobuf_FOUND TRUE)
