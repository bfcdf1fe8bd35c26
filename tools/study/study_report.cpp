// study-report: turns the runs of one `./herald study` into its results
// (docs/study.md).
//
//   study-report --manifest FILE --out DIR
//
// reads the manifest (study.hpp has its format) and the logs it names, and
// writes DIR/results.csv, DIR/report.md and DIR/plots/*.gp with their .dat
// files (the driver, tools/study/run-study.sh, runs gnuplot on them). It
// prints the figures tables on standard output. Exit status 1 when it
// cannot read the manifest or write a file, 0 otherwise (missing or failed
// figures are written down in the report, not fatal).
#include "tools/study/report.hpp"
#include "tools/study/study.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

std::optional<std::string> read_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

bool write_text(const std::filesystem::path& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        std::fprintf(stderr, "study-report: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

int usage()
{
    std::fprintf(stderr, "usage: study-report --manifest FILE --out DIR\n");
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    std::string manifest_path, out_dir;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string option = argv[i];
        if (option == "--manifest")
            manifest_path = argv[i + 1];
        else if (option == "--out")
            out_dir = argv[i + 1];
        else
            return usage();
    }
    if (manifest_path.empty() || out_dir.empty() || argc % 2 == 0)
        return usage();
    auto manifest = read_text(manifest_path);
    if (!manifest) {
        std::fprintf(stderr, "study-report: cannot read the manifest %s\n", manifest_path.c_str());
        return 1;
    }
    study::Study results = study::load_study(*manifest, read_text);

    std::filesystem::path out(out_dir), plots = out / "plots";
    std::error_code error;
    std::filesystem::create_directories(plots, error);
    if (error) {
        std::fprintf(stderr, "study-report: cannot make %s: %s\n", plots.c_str(), error.message().c_str());
        return 1;
    }
    std::vector<std::string> svg_names;
    for (const auto& file : study::render_plots(results)) {
        if (!write_text(plots / file.name, file.content))
            return 1;
        if (file.name.size() > 3 && file.name.substr(file.name.size() - 3) == ".gp")
            svg_names.push_back(file.name.substr(0, file.name.size() - 3) + ".svg");
    }
    if (!write_text(out / "results.csv", study::render_csv(results)) || !write_text(out / "report.md", study::render_report(results, svg_names)))
        return 1;
    std::fputs(study::render_figure_tables(results).c_str(), stdout);
    return 0;
}
