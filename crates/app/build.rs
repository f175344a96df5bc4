//! Compiles `csrc/allocator.c`, which sets mimalloc's options before `main` (see that file),
//! against the header of the mimalloc that is linked.

fn main() {
    println!("cargo:rerun-if-changed=csrc/allocator.c");
    let mut build = cc::Build::new();
    if let Some(include) = std::env::var_os("DEP_MIMALLOC_INCLUDE_DIR") {
        build.include(include);
    }
    build.file("csrc/allocator.c").compile("ardoise_allocator");
    // Nothing in Rust calls the constructor: keep its object in the binary's link anyway.
    // (The binary only: a test target does not link mimalloc.)
    println!("cargo:rustc-link-arg-bins=-Wl,--undefined=ardoise_allocator_options");
}
