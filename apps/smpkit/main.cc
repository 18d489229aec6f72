#include <cstdio>
int main() { std::puts("smpkit"); return 0; }
