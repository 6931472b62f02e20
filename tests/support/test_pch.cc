// The translation unit that compiles the test programs' shared precompiled header (see
// tests/CMakeLists.txt, minion_test_pch); it has no code of its own.
