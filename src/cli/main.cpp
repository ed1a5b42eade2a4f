#include <exception>
#include <iostream>

#include "app/exit_codes.hpp"
#include "cli/cli.hpp"

int main(int argc, char** argv)
{
    try {
        return gpumod::cli::run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "gpumod: internal error: " << e.what()
                  << "\nThis is a bug in gpumod; please report it with the command you ran.\n";
        return gpumod::app::k_exit_internal;
    }
}
