// mkdisk: writes the virtio-blk test disk (servers/virtio-blk/test_disk.hpp)
// to the file named by its argument: test_disk::kSectors sectors, each
// byte test_disk::byte_at(sector, offset). Exits 1 when it cannot write.
#include "servers/virtio-blk/test_disk.hpp"

#include <cstdio>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: mkdisk FILE\n");
        return 1;
    }
    std::vector<unsigned char> sector(test_disk::kSectorSize);
    std::FILE* out = std::fopen(argv[1], "wb");
    if (!out) {
        std::perror(argv[1]);
        return 1;
    }
    for (uint64_t s = 0; s < test_disk::kSectors; ++s) {
        for (uint64_t i = 0; i < sector.size(); ++i)
            sector[i] = test_disk::byte_at(s, i);
        if (std::fwrite(sector.data(), 1, sector.size(), out) != sector.size()) {
            std::perror(argv[1]);
            std::fclose(out);
            return 1;
        }
    }
    return std::fclose(out) == 0 ? 0 : 1;
}
