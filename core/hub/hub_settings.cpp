// HubSettings from the environment (the variables huggingface_hub reads), and HubError.

#include "hub/small_files.h"
#include "querylens/hub.h"

#include <cstdlib>
#include <filesystem>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

std::string environment(const char* name) { return environmentValue(name); }

std::string trimmed(std::string text)
{
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// HF_TOKEN, else the legacy HUGGING_FACE_HUB_TOKEN, else the file `huggingface-cli login` writes.
std::string tokenFromEnvironment()
{
    for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
        const std::string token = trimmed(environment(name));
        if (!token.empty())
            return token;
    }
    std::string path = environment("HF_TOKEN_PATH");
    if (path.empty())
        path = (fs::path(huggingFaceHome()) / "token").string();
    std::string token;
    if (readSmallFile(path, token, 4096))
        return trimmed(token);
    return {};
}

}  // namespace

HubSettings HubSettings::fromEnvironment()
{
    HubSettings settings;
    const std::string endpoint = environment("HF_ENDPOINT");
    if (!endpoint.empty())
        settings.endpoint = endpoint;
    while (!settings.endpoint.empty() && settings.endpoint.back() == '/')
        settings.endpoint.pop_back();
    settings.cacheFolder = defaultCacheFolder();
    settings.stateFolder = defaultStateFolder();
    settings.token = tokenFromEnvironment();
    settings.offline = offlineFromEnvironment();
    settings.useSymlinks = !environmentFlag("HF_HUB_DISABLE_SYMLINKS");
    return settings;
}

const char* hubErrorCodeName(HubErrorCode code)
{
    switch (code) {
    case HubErrorCode::RepoNotFound: return "RepoNotFound";
    case HubErrorCode::GatedRepo: return "GatedRepo";
    case HubErrorCode::RevisionNotFound: return "RevisionNotFound";
    case HubErrorCode::EntryNotFound: return "EntryNotFound";
    case HubErrorCode::Unauthorized: return "Unauthorized";
    case HubErrorCode::NotBlip2: return "NotBlip2";
    case HubErrorCode::Offline: return "Offline";
    case HubErrorCode::Network: return "Network";
    case HubErrorCode::Integrity: return "Integrity";
    case HubErrorCode::DiskSpace: return "DiskSpace";
    case HubErrorCode::Protocol: return "Protocol";
    }
    return "Unknown";
}

HubError::HubError(HubErrorCode code, const std::string& message, std::string file, int httpStatus)
    : Error(message, std::move(file)), code_(code), httpStatus_(httpStatus)
{
}

const char* downloadPhaseName(DownloadPhase phase)
{
    switch (phase) {
    case DownloadPhase::Waiting: return "waiting";
    case DownloadPhase::Hashing: return "hashing";
    case DownloadPhase::Downloading: return "downloading";
    case DownloadPhase::Verifying: return "verifying";
    case DownloadPhase::Retrying: return "retrying";
    }
    return "";
}

}  // namespace querylens::hub
