package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The real {@code dig} (Debian bind9-dnsutils) against one server, its answer parsed into what tests assert on. */
record Dig(int port) {
  private static final Pattern STATUS = Pattern.compile("status: ([A-Z]+)");
  private static final Pattern FLAGS = Pattern.compile(";; flags: ([a-z ]*);");

  /** A record as dig prints it: name, TTL, class, type, data. */
  record Rr(String name, long ttl, String type, String data) {}

  record Answer(String status, List<String> flags, List<Rr> answer, List<Rr> authority, List<Rr> additional, String output) {}

  /** Asks {@code name} {@code type} over UDP, or TCP with {@code +tcp} among {@code options}. */
  Answer ask(String name, String type, String... options) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port), "+norec", "+time=3", "+tries=1"));
    command.addAll(List.of(options));
    command.addAll(List.of(name, type));
    Process dig;
    try {
      dig = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("dig is needed for this test: apt-get install bind9-dnsutils (scripts/install-deps.sh does)", e);
    }
    String out = new String(dig.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(dig.waitFor()).as("dig %s %s: %s", name, type, out).isZero();
    Matcher status = STATUS.matcher(out);
    Matcher flags = FLAGS.matcher(out);
    assertThat(status.find() && flags.find()).as("a DNS answer in: %s", out).isTrue();
    return new Answer(status.group(1), List.of(flags.group(1).trim().split(" ")), section(out, "ANSWER"), section(out, "AUTHORITY"),
        section(out, "ADDITIONAL"), out);
  }

  private static List<Rr> section(String out, String name) {
    List<Rr> records = new ArrayList<>();
    boolean in = false;
    for (String line : out.split("\n")) {
      if (line.startsWith(";; " + name + " SECTION:")) {
        in = true;
      } else if (in && (line.isBlank() || line.startsWith(";;"))) {
        break;
      } else if (in) {
        String[] f = line.trim().split("\\s+", 5);
        records.add(new Rr(f[0], Long.parseLong(f[1]), f[3], f.length > 4 ? f[4] : ""));
      }
    }
    return records;
  }
}
