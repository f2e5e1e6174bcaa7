#pragma once

#include <cstddef>
#include <string>

// Code the process ran at start-up and will not run again (option parsing, configuration,
// schema checks, library initialisation) stays mapped: the kernel maps 64 KiB of a file around
// each page touched, and a mapped executable page counts in the process's memory (PSS) and is
// one the kernel's reclaim protects; so do the read-only data of the libraries (the symbol
// tables the dynamic linker searched, constants). release_code_pages() unmaps the pages of the
// read-only private mappings of files (code: r-xp; read-only data: r--p) from this process;
// the pages stay in the page cache, and a page the process uses again is mapped again on its
// next fault, from the same file. Mappings holding a page of their own (a copy made by a
// write: relocated data made read-only afterwards, text relocations, a debugger's breakpoint)
// are left alone, since unmapping would drop the copy.
namespace streamtrack::agent {

struct CodeRelease {
  std::size_t mappings = 0;        // mappings whose pages were unmapped
  std::size_t resident_bytes = 0;  // of them resident before (Rss)
  std::string error;               // why nothing was done (smaps unreadable), else empty
};

// Unmaps the resident pages of this process's read-only file mappings (see above). Never throws.
CodeRelease release_code_pages();

}  // namespace streamtrack::agent
