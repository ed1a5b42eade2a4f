# Every third-party dependency, in one place. Each comes from a Debian 12 package;
# scripts/install-deps.sh installs them by name.
find_package(Threads REQUIRED)
find_package(CLI11 CONFIG REQUIRED)                 # libcli11-dev
find_package(nlohmann_json 3.11 CONFIG REQUIRED)    # nlohmann-json3-dev
find_package(yaml-cpp 0.7 CONFIG REQUIRED)          # libyaml-cpp-dev
if(NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()
find_package(fmt 9 CONFIG REQUIRED)                 # libfmt-dev
find_package(spdlog 1.10 CONFIG REQUIRED)           # libspdlog-dev
find_package(SQLite3 REQUIRED)                      # libsqlite3-dev
find_package(SQLiteCpp CONFIG REQUIRED)             # libsqlitecpp-dev
find_package(tl-expected CONFIG REQUIRED)           # libexpected-dev
find_package(pugixml CONFIG REQUIRED)               # libpugixml-dev
find_package(simdjson 3 CONFIG REQUIRED)            # libsimdjson-dev (streamed chunks: chat_chunk_decoder)
find_package(OpenSSL REQUIRED)                      # libssl-dev (libcrypto: SHA-256)
find_package(Boost 1.74 REQUIRED)                   # libboost-dev (header-only Boost.Math, stats)
find_package(PkgConfig REQUIRED)
# The httplib target carries the CPPHTTPLIB_*_SUPPORT defines the Debian .so was built with.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)   # libcpp-httplib-dev
if(BUILD_TESTING)
  find_package(GTest CONFIG REQUIRED)               # libgtest-dev libgmock-dev
  find_package(rapidcheck CONFIG REQUIRED)          # librapidcheck-dev
  include(GoogleTest)
endif()
