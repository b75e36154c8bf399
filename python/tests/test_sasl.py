"""KAFKA_SASL_* from the environment become librdkafka's settings (no broker needed)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from eplb_heat.sasl import sasl_config  # noqa: E402


class SaslConfigTest(unittest.TestCase):
    def test_none_set_means_an_unauthenticated_client(self):
        self.assertEqual(sasl_config({}), {})

    def test_all_three_become_librdkafka_settings(self):
        env = {"KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "worker", "KAFKA_SASL_PASSWORD": "pw"}
        self.assertEqual(
            sasl_config(env),
            {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "worker", "sasl.password": "pw"},
        )

    def test_some_without_the_others_is_refused_naming_the_missing(self):
        with self.assertRaisesRegex(ValueError, "KAFKA_SASL_MECHANISM, KAFKA_SASL_PASSWORD: required"):
            sasl_config({"KAFKA_SASL_USERNAME": "worker"})

    def test_an_unknown_mechanism_is_refused(self):
        with self.assertRaisesRegex(ValueError, "KAFKA_SASL_MECHANISM: must be one of"):
            sasl_config({"KAFKA_SASL_MECHANISM": "gssapi", "KAFKA_SASL_USERNAME": "w", "KAFKA_SASL_PASSWORD": "p"})

    def test_scram_is_refused_on_a_librdkafka_that_cannot_complete_it_with_kafka_4(self):
        env = {"KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "w", "KAFKA_SASL_PASSWORD": "p"}
        with self.assertRaisesRegex(ValueError, r"librdkafka 2\.0\.2 fails SCRAM against Kafka 4 brokers \(fixed in 2\.6\.1\)"):
            sasl_config(env, librdkafka_version=0x020002FF)
        self.assertEqual(sasl_config(env, librdkafka_version=0x020601FF)["sasl.mechanism"], "SCRAM-SHA-512")
        plain = {**env, "KAFKA_SASL_MECHANISM": "plain"}
        self.assertEqual(sasl_config(plain, librdkafka_version=0x020002FF)["sasl.mechanism"], "PLAIN")


if __name__ == "__main__":
    unittest.main()
