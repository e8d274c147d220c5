package dev.boxd.server;

import picocli.CommandLine.IVersionProvider;

final class Version implements IVersionProvider {
  static final String VERSION = "0.1.0";

  @Override
  public String[] getVersion() {
    return new String[] {"boxd " + VERSION};
  }
}
