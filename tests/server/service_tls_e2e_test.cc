// TLS and mutual TLS end to end, with certificates openssl makes for the test: a CA, a server
// certificate for 127.0.0.1 and localhost, a client certificate from the same CA and one from
// another CA. Both clients (serialctl and the Python command line) must be served when they
// present what the server requires, and refused otherwise.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/testing/service_e2e.h"

namespace seriald {
namespace {

using ::seriald::testing::RunProgram;
using ::seriald::testing::RunResult;
using ::seriald::testing::ScratchDir;
using ::seriald::testing::SerialdProcess;
using ::seriald::testing::TestCertificates;
using ::testing::HasSubstr;

const std::string kInput = testing::CorpusPath("generated/checkpoint_like.bin.t7");

class TlsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::UseBuildPythonStubs();
    absl::StatusOr<TestCertificates> certs = testing::MakeTestCertificates(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    RunResult local = RunProgram(
        {testing::SerialctlBinary(), "convert", "--to", "t7-ascii", kInput, dir_.File("local")});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    expected_ = testing::ReadBytes(dir_.File("local"));
    ASSERT_FALSE(expected_.empty());
  }

  // serialctl --server ADDRESS <tls flags> convert --to t7-ascii INPUT OUT
  RunResult Serialctl(const std::string& address, const std::vector<std::string>& tls,
                      const std::string& out) {
    std::vector<std::string> argv = {testing::SerialctlBinary(), "--server", address, "--timeout",
                                     "30"};
    argv.insert(argv.end(), tls.begin(), tls.end());
    argv.insert(argv.end(), {"convert", "--to", "t7-ascii", kInput, dir_.File(out)});
    return RunProgram(argv);
  }

  // seriald_client.py --server ADDRESS <tls flags> convert INPUT OUT --to t7-ascii
  RunResult Python(const std::string& address, const std::vector<std::string>& tls,
                   const std::string& out) {
    std::vector<std::string> argv = testing::PythonClientCommand();
    argv.insert(argv.end(), {"--server", address, "--timeout", "30"});
    argv.insert(argv.end(), tls.begin(), tls.end());
    argv.insert(argv.end(), {"convert", kInput, dir_.File(out), "--to", "t7-ascii"});
    return RunProgram(argv);
  }

  void ExpectServed(const RunResult& result, const std::string& out) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    ASSERT_TRUE(testing::FileExists(dir_.File(out))) << out;
    EXPECT_TRUE(testing::ReadBytes(dir_.File(out)) == expected_) << out << " differs from local";
  }

  void ExpectRefused(const RunResult& result, const std::string& out, const std::string& program) {
    EXPECT_EQ(result.exit_code, 1) << out << ": " << result.err;
    // No connection can be made, so the call fails (UNAVAILABLE) with gRPC's words for that.
    EXPECT_THAT(result.err, HasSubstr(program + ": connections to all backends failing")) << out;
    EXPECT_FALSE(testing::FileExists(dir_.File(out))) << out;
  }

  ScratchDir dir_;
  TestCertificates certs_;
  std::string expected_;
};

TEST_F(TlsE2eTest, TlsServerServesClientsThatTrustItsCa) {
  auto server =
      SerialdProcess::Start({"--tls-cert", certs_.server_cert, "--tls-key", certs_.server_key});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  EXPECT_THAT((*server)->process().stdout_text(), HasSubstr(address + " (TLS)"));
  const std::vector<std::string> trusting = {"--tls-ca", certs_.ca};

  ExpectServed(Serialctl(address, trusting, "serialctl.out"), "serialctl.out");
  ExpectServed(Python(address, trusting, "python.out"), "python.out");
  // The certificate names localhost as well as 127.0.0.1.
  const std::string port = address.substr(address.rfind(':') + 1);
  ExpectServed(Serialctl("localhost:" + port, trusting, "localhost.out"), "localhost.out");
  RunResult health = RunProgram({testing::SerialctlBinary(), "--server", address, "--tls-ca",
                                 certs_.ca, "--timeout", "30", "health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");

  // Plaintext to a TLS port, and TLS that trusts another CA, get nowhere.
  ExpectRefused(Serialctl(address, {}, "plaintext.out"), "plaintext.out", "serialctl");
  RunResult untrusted = Serialctl(address, {"--tls-ca", certs_.other_ca}, "untrusted.out");
  ExpectRefused(untrusted, "untrusted.out", "serialctl");
  EXPECT_THAT(untrusted.err, HasSubstr("certificate verify failed"));
  ExpectRefused(Python(address, {}, "python-plaintext.out"), "python-plaintext.out",
                "seriald_client");
  ExpectRefused(Python(address, {"--tls-ca", certs_.other_ca}, "python-untrusted.out"),
                "python-untrusted.out", "seriald_client");

  EXPECT_EQ((*server)->Stop(), 0);
  // Only the three served conversions reached the service.
  std::vector<std::string> calls = (*server)->CallLogLines();
  EXPECT_EQ(calls.size(), 3u) << (*server)->Log();
  for (const std::string& line : calls) EXPECT_THAT(line, HasSubstr("status=OK"));
}

TEST_F(TlsE2eTest, MutualTlsServesOnlyClientsWithACertificateFromItsCa) {
  auto server = SerialdProcess::Start({"--tls-cert", certs_.server_cert, "--tls-key",
                                       certs_.server_key, "--tls-client-ca", certs_.ca});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  EXPECT_THAT((*server)->process().stdout_text(),
              HasSubstr(address + " (TLS) (client certificates required)"));
  const std::vector<std::string> valid = {"--tls-ca",         certs_.ca,   "--tls-cert",
                                          certs_.client_cert, "--tls-key", certs_.client_key};
  const std::vector<std::string> no_certificate = {"--tls-ca", certs_.ca};
  const std::vector<std::string> other_ca = {"--tls-ca",   certs_.ca,
                                             "--tls-cert", certs_.other_client_cert,
                                             "--tls-key",  certs_.other_client_key};

  ExpectServed(Serialctl(address, valid, "serialctl.out"), "serialctl.out");
  ExpectRefused(Serialctl(address, no_certificate, "serialctl-anonymous.out"),
                "serialctl-anonymous.out", "serialctl");
  ExpectRefused(Serialctl(address, other_ca, "serialctl-other-ca.out"), "serialctl-other-ca.out",
                "serialctl");

  ExpectServed(Python(address, valid, "python.out"), "python.out");
  ExpectRefused(Python(address, no_certificate, "python-anonymous.out"), "python-anonymous.out",
                "seriald_client");
  ExpectRefused(Python(address, other_ca, "python-other-ca.out"), "python-other-ca.out",
                "seriald_client");

  EXPECT_EQ((*server)->Stop(), 0);
  // The refused clients never reached the service: the server's TLS handshakes failed, for the
  // missing certificate and for the one it cannot verify.
  std::vector<std::string> calls = (*server)->CallLogLines();
  EXPECT_EQ(calls.size(), 2u) << (*server)->Log();
  EXPECT_THAT((*server)->Log(), HasSubstr("peer did not return a certificate"));
  EXPECT_THAT((*server)->Log(), HasSubstr("certificate verify failed"));
  for (const std::string& line : calls) EXPECT_THAT(line, HasSubstr("status=OK"));
}

}  // namespace
}  // namespace seriald
