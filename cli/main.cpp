#include <cstdio>
int main() { std::puts("tagscape"); return 0; }
